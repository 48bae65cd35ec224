from wsaccept_cli.cli import main

main()
