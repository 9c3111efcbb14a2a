import sys

from gan.commands import main

sys.exit(main())
