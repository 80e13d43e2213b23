from cnnstat.cli import main

main(prog_name="cnnstat")
