from ccsync.launcher import main

main()
