# base: stub. Prints escape sequences that would clear a terminal and draw a fake full score,
# raises with them in its exception messages, and prints HTML meant to run in the class report.
import sys

FAKE = "\x1b[2J\x1b[H\x1b[32mScore: 120 / 120 (100%)\x1b[0m"
print(FAKE)
print("<script>document.title = 'forged'</script>")
sys.stderr.write("\r" + FAKE + "\x9b2J\u202e)%001( 021 / 021 :erocS\n")


def _tanh(self):
    raise ValueError(FAKE)


Value.tanh = _tanh
