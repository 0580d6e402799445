"""Runs bs3lnet for an algorithm: GDAL-style progress to the feedback, log
lines to the log, Ctrl-C on cancel (the command then leaves no output)."""
import os
import queue
import re
import signal
import subprocess
import threading

from qgis.core import QgsProcessingException

from . import settings

# The pid of the command last started (tests check it is gone after a cancel).
last_pid = None


class ProgressParser:
    """Splits `0...10...20...100 - done.` progress from ordinary log lines."""

    PROGRESS = re.compile(r"^\d+(\.\.\.\d+)*\.*( - done\.)?$")

    def __init__(self, on_progress, on_line):
        self.on_progress, self.on_line = on_progress, on_line
        self.buf = ""

    def feed(self, text):
        for ch in text:
            if ch == "\n":
                line, self.buf = self.buf.strip(), ""
                if self.PROGRESS.match(line):
                    self.on_progress(100)
                elif line:
                    self.on_line(line)
                continue
            self.buf += ch
            if ch == "." and self.buf[:1].isdigit():
                numbers = re.findall(r"(\d+)\.", self.buf)
                if numbers:
                    self.on_progress(min(100, int(numbers[-1])))


def _pump(stream, q, tag):
    for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
        q.put((tag, chunk.decode("utf-8", "replace")))
    q.put((tag, None))


def check_executable():
    """The configured executable, or a clear error."""
    exe = settings.executable()
    if not exe or not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise QgsProcessingException(
            "bs3lnet executable not found at '%s'; set it in Settings > Options > Processing > Providers > BS3LNet" % exe)
    return exe


def capture(args):
    """stdout of a quick `bs3lnet ARGS` (e.g. --json-usage); raises on failure."""
    p = subprocess.run([check_executable()] + [str(a) for a in args], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise QgsProcessingException(p.stderr.strip() or "bs3lnet failed")
    return p.stdout


def run(args, feedback, outputs=()):
    """Runs `bs3lnet ARGS`; returns stdout text. Raises QgsProcessingException
    with the command's ERROR line on failure, or on cancel. The command writes
    through temporary files renamed at the end, so a cancel leaves a previous
    output at the same path as it was; only outputs this run created go."""
    global last_pid
    cmd = [check_executable()] + [str(a) for a in args]
    existed = {p for p in outputs if p and os.path.lexists(p)}
    feedback.pushCommandInfo(" ".join('"%s"' % c if " " in c else c for c in cmd))
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    last_pid = proc.pid
    q = queue.Queue()
    threads = [threading.Thread(target=_pump, args=(s, q, t), daemon=True)
               for s, t in ((proc.stdout, "out"), (proc.stderr, "err"))]
    for t in threads:
        t.start()
    out_text, err_text = [], []
    parser = ProgressParser(feedback.setProgress, feedback.pushInfo)
    open_streams = 2
    canceled = False
    while open_streams or proc.poll() is None:
        if feedback.isCanceled() and not canceled:
            canceled = True
            proc.send_signal(signal.SIGINT)  # the command abandons its temporary outputs
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        try:
            tag, text = q.get(timeout=0.05)
        except queue.Empty:
            continue
        if text is None:
            open_streams -= 1
        elif tag == "out":
            out_text.append(text)
            parser.feed(text)
        else:
            err_text.append(text)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    if canceled:
        for path in outputs:
            if path and path not in existed and os.path.exists(path):
                os.remove(path)
        raise QgsProcessingException("Canceled: bs3lnet stopped, no output written")
    err = "".join(err_text).strip()
    if proc.returncode != 0:
        lines = [l for l in err.splitlines() if l.startswith("ERROR")]
        raise QgsProcessingException(lines[-1] if lines else "bs3lnet failed (exit %d): %s" % (proc.returncode, err))
    if err:
        feedback.pushWarning(err)
    return "".join(out_text)
