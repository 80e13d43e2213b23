"""Nothing a user's module starts outlives the command that ran it.

The child process of ``import`` and ``--module`` (:mod:`cnnstat.torch_backend.isolation`)
starts in a session of its own and runs :func:`supervise`: it limits its address space (and
so that of everything below it) to ``--memory-limit``, becomes the *subreaper* of everything
below it (Linux ``PR_SET_CHILD_SUBREAPER``: a process orphaned below it -- a daemon that forked
twice, one that called ``setsid`` -- is adopted by the supervisor, not by init, so it stays in
the supervisor's tree), forks the process that runs the module, waits for it, kills every
process still below it and ends as the module's process ended.  The parent
(:meth:`isolation._Child._kill`) kills what is left: the tree below the supervisor while it
lives (a timeout, Ctrl-C), its process group, and every process left in its session or group.

What is not cleaned up: a process that leaves the tree *and* the session after the supervisor
is gone (only a module that kills its own supervisor can arrange that), and work a module hands
to something outside its tree (a service manager, a server it connects to).  Without
``/proc`` or ``prctl`` (macOS, Windows) only the child's process group is killed.

Torch-free and cnnstat-free: the supervisor is told what to run.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import suppress

SWEEP_S = 2.0  # the longest a sweep of leftover processes goes on (a fork bomb ends sooner)
_PR_SET_CHILD_SUBREAPER = 36


def supervise(memory: int | None, run: Callable[[], None]) -> None:
    """Limit the address space to ``memory`` bytes (None: no limit), adopt orphans, run
    ``run`` in a forked process, kill everything left below this one, and end as that process
    ended (its exit status, or its signal)."""
    if memory is not None:
        limit_memory(memory)
    adopts = _become_subreaper()
    worker = os.fork()
    if worker == 0:
        try:
            run()
        finally:
            os._exit(70)
    _, status = os.waitpid(worker, 0)
    if adopts:
        kill_tree(os.getpid(), reap=True)
    if os.WIFSIGNALED(status):
        _end_by(os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)


def limit_memory(memory: int) -> None:
    """RLIMIT_AS of this process, soft and hard (a module cannot raise it back), at most the
    hard limit it has already."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _become_subreaper() -> bool:
    """PR_SET_CHILD_SUBREAPER (Linux 3.4+): orphans below this process become its children."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _end_by(number: int) -> None:
    """End this process by the signal that ended the module's (so the parent reads the same
    status), without a core file of its own."""
    import resource

    with suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    with suppress(OSError, ValueError):  # SIGKILL's handler cannot be set (nor needs to be)
        signal.signal(number, signal.SIG_DFL)
    with suppress(OSError):
        os.kill(os.getpid(), number)
    os._exit(128 + number)


def processes() -> list[tuple[int, int, int, int, str]]:
    """(pid, parent, process group, session, state) of every process /proc shows ([] where
    there is no /proc)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    out = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue  # gone meanwhile
        fields = data[data.rfind(b")") + 2:].split()  # the name, in parentheses, may hold anything
        if len(fields) > 3:
            out.append((int(name), int(fields[1]), int(fields[2]), int(fields[3]),
                        fields[0].decode("ascii", "replace")))
    return out


def descendants(root: int) -> list[int]:
    """The live processes below ``root`` (zombies left out), parents before children."""
    children: dict[int, list[int]] = {}
    alive = set()
    for pid, parent, _, _, state in processes():
        children.setdefault(parent, []).append(pid)
        if state != "Z":
            alive.add(pid)
    out, todo = [], list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return [p for p in out if p in alive]


def kill_tree(root: int, reap: bool = False) -> None:
    """SIGKILL every process below ``root`` until none is left (one forked meanwhile is found
    by the next look), for at most :data:`SWEEP_S`; ``reap``: ``root`` is this process, which
    waits for its children so that none stays a zombie."""
    _until_none(lambda: descendants(root), reap)


def kill_members(leader: int) -> None:
    """SIGKILL every live process of the session or process group that ``leader`` leads
    (besides the leader), for at most :data:`SWEEP_S`."""
    _until_none(lambda: [pid for pid, _, group, session, state in processes()
                         if leader in (group, session) and pid != leader and state != "Z"],
                reap=False)


def _until_none(find: Callable[[], list[int]], reap: bool) -> None:
    deadline = time.monotonic() + SWEEP_S
    while time.monotonic() < deadline:
        if reap:
            _reap()
        left = find()
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
