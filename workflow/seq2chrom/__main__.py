import sys

from seq2chrom.cli import main

sys.exit(main())
