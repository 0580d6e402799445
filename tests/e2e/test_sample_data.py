"""bs3lnet synth regenerates sample_data/ bit for bit, all files or none."""
import filecmp
import hashlib
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

    def test_all_files_or_none(self):
        # a failure injected at each file: nothing new; under --overwrite every
        # previous file byte-identical (no temporary file left either)
        d = tmpdir()
        for name in ("scene.tif", "scene.img", "scene_truth.tif", "scene.mat"):
            code, _, se = run("synth", d, "-q", "--size", "40", "--bands", "10", env={"BS3L_TEST_FAIL_OUTPUT": name})
            self.assertEqual(code, 1, se)
            self.assertIn("injected failure", se)
            self.assertEqual(os.listdir(d), [], name)
        self.assertEqual(run("synth", d, "-q", "--size", "40", "--bands", "10")[0], 0)
        md5 = lambda f: hashlib.md5(open(os.path.join(d, f), "rb").read()).hexdigest()
        before = {f: md5(f) for f in os.listdir(d)}
        for name in ("scene.tif", "scene.img", "scene_truth.tif", "scene.mat"):
            code, _, se = run("synth", d, "-q", "--size", "48", "--bands", "12", "--overwrite",
                              env={"BS3L_TEST_FAIL_OUTPUT": name})
            self.assertEqual(code, 1, se)
            self.assertEqual({f: md5(f) for f in os.listdir(d)}, before, name)


if __name__ == "__main__":
    unittest.main()
