"""The Slurm recipe (scripts/slurm) on a private single-node cluster: munged,
slurmctld and slurmd started here from a generated slurm.conf (free ports,
state in a temp folder) and stopped after. Skipped only where one of the
daemons cannot start (or is not installed: scripts/bootstrap.sh test)."""
import getpass
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import numpy as np

from common import BS3LNET, SAMPLE, SOURCE, read, run, tmpdir

CAMPAIGN = os.path.join(SOURCE, "scripts", "slurm", "campaign.sh")
SBIN = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
SMALL = ["--steps", "20", "--features", "16"]


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tail(path, n=8):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-n:])
    except OSError as e:
        return str(e)


class Cluster:
    """munged, slurmctld and slurmd of our own; the system's are left alone."""

    def __init__(self):
        # Under /tmp: a munge socket path must stay short (108 bytes).
        self.dir = tempfile.mkdtemp(prefix="bs3l_slurm_", dir="/tmp")
        os.chmod(self.dir, 0o755)  # munged refuses a socket not every user can reach
        self.procs = []
        # Jobs inherit this environment; a caller's own Slurm job must not leak in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}
        self.env["SLURM_CONF"] = self.path("slurm.conf")

    def path(self, name):
        return os.path.join(self.dir, name)

    def daemon(self, name, *args):
        exe = shutil.which(name, path=SBIN)
        log = self.path(name + ".log")
        with open(log, "w") as f:
            p = subprocess.Popen([exe, *args], stdout=f, stderr=subprocess.STDOUT, env=self.env)
        self.procs.append((name, p, log))

    def check_alive(self):
        for name, p, log in self.procs:
            if p.poll() is not None:
                raise unittest.SkipTest(f"{name} cannot start (exit {p.returncode}): {tail(log)}")

    def start(self):
        for tool in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "gdalbuildvrt"):
            if not shutil.which(tool, path=SBIN):
                raise unittest.SkipTest(f"{tool} not installed (scripts/bootstrap.sh test installs slurm-wlm, munge)")
        key = self.path("munge.key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(os.urandom(1024))
        sock = self.path("munge.sock")
        self.daemon("munged", "-F", "-S", sock, "--key-file", key, "--pid-file", self.path("munged.pid"),
                    "--seed-file", self.path("munged.seed"))
        for _ in range(100):
            self.check_alive()
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        else:
            raise unittest.SkipTest(f"munged made no socket in 10 s: {tail(self.path('munged.log'))}")

        node = subprocess.run([shutil.which("slurmd", path=SBIN), "-C"], capture_output=True, text=True)
        if node.returncode != 0 or not node.stdout.startswith("NodeName="):
            raise unittest.SkipTest(f"slurmd -C cannot describe this machine: {node.stderr.strip()}")
        host = node.stdout.split()[0].split("=")[1]
        user = getpass.getuser()
        ctld_port, d_port = free_ports(2)
        conf = f"""ClusterName=bs3ltest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={self.path('state')}
SlurmdSpoolDir={self.path('spool')}
SlurmctldPidFile={self.path('slurmctld.pid')}
SlurmdPidFile={self.path('slurmd.pid')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
SchedulerParameters=sched_interval=1
{node.stdout.splitlines()[0]} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        os.makedirs(self.path("state"))
        with open(self.path("slurm.conf"), "w") as f:
            f.write(conf)
        self.daemon("slurmctld", "-D", "-f", self.path("slurm.conf"))
        self.daemon("slurmd", "-D", "-f", self.path("slurm.conf"))
        state = ""
        for _ in range(300):
            self.check_alive()
            state = self.slurm("sinfo", "-h", "-o", "%t").stdout.strip()
            if state == "idle":
                return
            time.sleep(0.1)
        raise unittest.SkipTest(f"slurmd node not idle in 30 s (sinfo: {state!r}): "
                                f"slurmctld: {tail(self.path('slurmctld.log'), 4)}; slurmd: {tail(self.path('slurmd.log'), 4)}")

    def slurm(self, *args):
        return subprocess.run(args, capture_output=True, text=True, env=self.env, timeout=60)

    def stop(self):
        if any(n == "slurmctld" and p.poll() is None for n, p, _ in self.procs):
            self.slurm("scancel", "-u", getpass.getuser())
        for _, p, _ in reversed(self.procs):  # slurmd, slurmctld, then munged
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, True)


def scenes(folder):
    """The sample scene in its three forms, under distinct names (one output each)."""
    shutil.copy(os.path.join(SAMPLE, "scene.tif"), os.path.join(folder, "a.tif"))
    for src, dst in (("scene.img", "b.img"), ("scene.hdr", "b.hdr"), ("scene.mat", "c.mat")):
        os.symlink(os.path.join(SAMPLE, src), os.path.join(folder, dst))
    return [os.path.join(folder, f) for f in ("a.tif", "b.img", "c.mat")]


class SlurmRecipe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster()
        try:
            cls.cluster.start()
        except BaseException:
            cls.cluster.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def campaign(self, *args, code=0):
        p = subprocess.run(["bash", CAMPAIGN, *map(str, args)], capture_output=True, text=True,
                           env=self.cluster.env, timeout=60)
        self.assertEqual(p.returncode, code, p.stdout + p.stderr)
        return p.stdout + p.stderr

    def wait(self, out, limit=120):
        """Waits for the campaign's jobs to leave the queue; all must have completed."""
        with open(os.path.join(out, "jobs")) as f:
            jobs = f.read().split()
        end = time.time() + limit
        while self.cluster.slurm("squeue", "-h", "-j", ",".join(jobs)).stdout.strip():
            self.assertLess(time.time(), end, self.cluster.slurm("squeue").stdout)
            time.sleep(0.5)
        for j in jobs:
            states = re.findall(r"JobState=(\S+)", self.cluster.slurm("scontrol", "-o", "show", "job", j).stdout)
            logs = {f: tail(os.path.join(out, "logs", f), 3) for f in sorted(os.listdir(os.path.join(out, "logs")))}
            self.assertTrue(states and all(s == "COMPLETED" for s in states), f"job {j}: {states}, logs: {logs}")

    def assert_same_raster(self, path, ref):
        a, na, da = read(path)
        b, nb, db = read(ref)
        self.assertEqual(na, nb)
        self.assertEqual(da.GetGeoTransform(), db.GetGeoTransform())
        self.assertEqual(da.GetProjection(), db.GetProjection())
        # Same model, same input, one thread each: bit for bit (NaN = nodata).
        np.testing.assert_array_equal(a, b)

    def test_per_scene(self):
        d = tmpdir()
        ins = scenes(d)
        out = os.path.join(d, "campaign")
        log = self.campaign("-o", out, "--train", ins[0], "--train-args", " ".join(SMALL), *ins, "--", "-q")
        self.assertRegex(log, r"train job \d+")
        self.assertRegex(log, r"array job \d+: tasks 0-2 of 0-2")
        self.wait(out)
        model = os.path.join(out, "model.pt")
        for f in ins:
            stem = os.path.splitext(os.path.basename(f))[0]
            ref = os.path.join(d, stem + "_ref.tif")
            code, _, err = run("apply", model, f, ref, "--threads", 1, "-q")
            self.assertEqual(code, 0, err)
            self.assert_same_raster(os.path.join(out, stem + ".tif"), ref)
        self.assertEqual(read(os.path.join(out, "mosaic.vrt"))[0].shape, (100, 100))

    def test_tiles(self):
        d = tmpdir()
        scene = os.path.join(SAMPLE, "scene.tif")
        out = os.path.join(d, "campaign")
        # 100 x 100 pixels in 40-pixel tiles: 9 tasks, the last row and column 20 wide.
        log = self.campaign("-o", out, "--train", scene, "--train-args", " ".join(SMALL), "--tile", 40,
                            "--max-parallel", 2, scene, "--", "-q")
        self.assertRegex(log, r"array job \d+: tasks 0-8 of 0-8")
        self.wait(out)
        self.assertEqual(len([f for f in os.listdir(out) if f.startswith("scene_") and f.endswith(".tif")]), 9)
        ref = os.path.join(d, "ref.tif")
        code, _, err = run("apply", os.path.join(out, "model.pt"), scene, ref, "--threads", 1, "-q")
        self.assertEqual(code, 0, err)
        self.assert_same_raster(os.path.join(out, "mosaic.vrt"), ref)

    def test_memory_and_threads_follow_the_job(self):
        # This cluster enforces nothing (no cgroup plugin): the job's own
        # --mem and --cpus-per-task still bound the run.
        d = tmpdir()
        log, out = os.path.join(d, "job.log"), os.path.join(d, "o.tif")
        cmd = f"'{BS3LNET}' detect '{SAMPLE}/scene.tif' '{out}' --steps 5 --features 16 --verbose"
        p = self.cluster.slurm("sbatch", "--parsable", "--mem=300M", "--cpus-per-task=1", "-o", log, "--wrap", cmd)
        self.assertEqual(p.returncode, 0, p.stderr)
        job = p.stdout.strip().split(";")[0]
        end = time.time() + 120
        while self.cluster.slurm("squeue", "-h", "-j", job).stdout.strip():
            self.assertLess(time.time(), end)
            time.sleep(0.5)
        with open(log) as f:
            text = f.read()
        m = re.search(r"Resources: (\d+) thread\(s\) \((.*?)\), (\d+) MB of memory free \((.*?)\)\n", text)
        self.assertTrue(m, text)
        self.assertEqual((m.group(1), m.group(2)), ("1", "Slurm job (--cpus-per-task)"))
        self.assertLessEqual(int(m.group(3)), 300)
        self.assertEqual(m.group(4), "Slurm job (--mem)")
        self.assertTrue(os.path.exists(out), text)

    def test_resume(self):
        d = tmpdir()
        ins = scenes(d)
        out = os.path.join(d, "campaign")
        args = ["-o", out, *ins, "--", *SMALL, "-q"]  # no model: each task runs bs3lnet detect
        self.campaign(*args)
        self.wait(out)
        outs = [os.path.join(out, s + ".tif") for s in ("a", "b", "c")]
        before = read(outs[1])[0]
        mtimes = [os.stat(f).st_mtime_ns for f in outs]
        os.remove(outs[1])
        log = self.campaign(*args)
        self.assertRegex(log, r"array job \d+: tasks 1 of 0-2")
        # A rerun while its jobs are queued would run tasks twice: refused.
        self.assertIn("still queued", self.campaign(*args, code=2))
        self.wait(out)
        self.assertEqual([os.stat(f).st_mtime_ns for f in (outs[0], outs[2])], [mtimes[0], mtimes[2]])
        np.testing.assert_array_equal(read(outs[1])[0], before)  # detect is seeded
        self.assertIn("all 3 outputs exist", self.campaign(*args))
        self.wait(out)


if __name__ == "__main__":
    unittest.main()
