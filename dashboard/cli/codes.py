"""The exit codes, and nothing else: the warm client (cli/warm.py) needs them without importing anything.

0 delivered (submitted or queued) · 1 other · 2 usage · 3 refused by a guard · 4 not delivered
(stuck, not received, unrecognised) · 5 host unreachable or wrong identity · 6 malformed config ·
7 `exec --wait`: the command ran and failed · 130 interrupted.
"""

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_UNDELIVERED, EXIT_HOST, EXIT_CONFIG = 0, 1, 2, 3, 4, 5, 6
EXIT_COMMAND_FAILED = 7  # exec --wait: the command ran and exited non-zero
EXIT_INTERRUPTED = 130
