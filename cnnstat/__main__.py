from cnnstat.cli.main import main

main(prog_name="cnnstat")
