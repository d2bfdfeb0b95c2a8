"""python -m detector -> the command line."""

from detector.cli import main

main()
