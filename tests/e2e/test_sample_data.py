"""bs3lnet synth regenerates sample_data/ bit for bit."""
import filecmp
import os
import unittest

from common import SAMPLE, run, tmpdir


class Regenerate(unittest.TestCase):
    def test_bit_for_bit(self):
        d = tmpdir()
        code, _, se = run("synth", d, "-q")
        self.assertEqual(code, 0, se)
        made = sorted(os.listdir(d))
        self.assertEqual(made, sorted(f for f in os.listdir(SAMPLE) if f != "README.md"))
        for f in made:
            self.assertTrue(filecmp.cmp(os.path.join(d, f), os.path.join(SAMPLE, f), shallow=False), f)


if __name__ == "__main__":
    unittest.main()
