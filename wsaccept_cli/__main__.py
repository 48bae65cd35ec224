from wsaccept_cli.launch import main

main()
