"""`python -m app.cli`: the same as the `storyline` command."""

import sys

from app.cli import main

# guarded: a process started by multiprocessing's spawn or forkserver (the Kafka
# consumer's shaper) imports this module again, and must not run the command twice
if __name__ == "__main__":
    sys.exit(main())
