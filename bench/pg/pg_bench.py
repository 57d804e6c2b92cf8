#!/usr/bin/env python3
"""PostgreSQL-level benchmark: alexidx next to btree, in one throwaway PostgreSQL 15 instance.

Run through scripts/pg-bench.sh (it builds and installs the extension first). Python 3 stdlib
only; every PostgreSQL tool runs as the `postgres` user when we are root.

Datasets (table (k bigint, v bigint) or (k uuid, v bigint), v = row number):
  seq    k = row number 1..N (ascending, heap order = key order)
  uni    k = hashint8extended(row number, 42): a 64-bit hash, i.e. keys spread uniformly over
         the whole bigint range, in random heap order (duplicates: practically none)
  uuid4  k = md5(row number)::uuid: random 128-bit keys as gen_random_uuid() makes them, but
         reproducible, so that a lookup can name a key that exists
  uuid7  k = a version-7 layout: 48 bits of milliseconds (the row number / 16 after a fixed
         epoch: 16 rows per millisecond, as clock_timestamp() would give at 16k rows/s), the
         version nibble, then random bits (md5 of the row number)
uuid ranges are "the next 100 (10,000) keys from a random existing key" (ORDER BY k LIMIT),
since 128-bit key arithmetic is not available to pgbench.
Two identical tables per dataset, `ax` (alexidx index) and `bt` (btree index), so that each
query can only use one kind of index; `noidx` (no index) is the baseline of the bulk loads.

Every number is alexidx next to btree in the same instance; ratio = alexidx / btree.
"""
import argparse
import contextlib
import csv
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
AS_ROOT = os.geteuid() == 0
FORCE_INDEX = "-c enable_seqscan=off -c enable_bitmapscan=off"
PARALLEL_IOS = FORCE_INDEX + " -c max_parallel_workers_per_gather=2 -c parallel_setup_cost=0"
BULK_ROWS = 1_000_000
COMMIT_ROUNDS = 3  # alternating pgbench runs per index for the commit rates
T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def as_pg(cmd):
    return ["runuser", "-u", "postgres", "--"] + cmd if AS_ROOT else cmd


def parse_rows(s):
    s = s.strip().upper()
    mult = {"K": 10**3, "M": 10**6, "G": 10**9}.get(s[-1], 1)
    return int(float(s[:-1] if s[-1] in "KMG" else s) * mult)


def rows_label(n):
    return f"{n // 10**6}M" if n % 10**6 == 0 else f"{n // 10**3}K"


class Instance:
    """One throwaway cluster: unix socket in its own directory, no TCP."""

    def __init__(self, workdir, memory_mb, port=54329):
        self.dir = workdir
        self.data = os.path.join(workdir, "data")
        self.port = port
        self.memory_mb = memory_mb
        self.logfile = os.path.join(workdir, "server.log")
        self.pgbench_prefix = []  # taskset while one_core() lasts

    def run(self, cmd, env=None, check=True, input=None):
        e = dict(os.environ, PATH=f"{PG_BIN}:{os.environ.get('PATH', '')}")
        if env:
            e.update(env)
        full = as_pg(["env"] + [f"{k}={v}" for k, v in (env or {}).items()] + cmd)
        r = subprocess.run(full, env=e, input=input, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def initdb(self):
        self.run([f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale=C"])
        conf = f"""
shared_preload_libraries = 'alexidx'
alexidx.memory = {self.memory_mb}MB
listen_addresses = ''
unix_socket_directories = '{self.dir}'
port = {self.port}
max_connections = 40
shared_buffers = 2GB
fsync = on
synchronous_commit = on
wal_level = replica
max_wal_size = 16GB
min_wal_size = 1GB
checkpoint_timeout = 1h
maintenance_work_mem = 1GB
work_mem = 64MB
jit = off
autovacuum = off
log_min_messages = warning
"""
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write(conf)

    def start(self):
        self.run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "600", "start"])

    def start_polled(self):
        """Starts the server and returns once it accepts connections, polling every 5 ms
        (pg_ctl waits by default and looks only every 100 ms, too coarse for a restart
        measured in tenths: -W, and the loop below does the waiting)."""
        self.run(["sh", "-c",
                  f'"{PG_BIN}/pg_ctl" -D "{self.data}" -l "{self.logfile}" -W start >/dev/null && '
                  f'i=0; until "{PG_BIN}/pg_isready" -q -h "{self.dir}" -p {self.port}; do '
                  f'i=$((i + 1)); [ $i -lt 120000 ] || exit 1; sleep 0.005; done'])

    def stop(self, mode="fast", check=True):
        self.run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "600", "stop"],
                 check=check)

    def psql(self, sql, db="bench", env=None, check=True):
        r = self.run([f"{PG_BIN}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                      "-h", self.dir, "-p", str(self.port), "-d", db],
                     env=env, input=sql, check=check)
        return r.stdout.strip()

    def timed(self, sql, db="bench", env=None):
        """Runs one statement, returns its time in seconds as psql's \\timing sees it
        (client round trip of the statement, including the commit in autocommit mode)."""
        out = self.psql("\\timing on\n" + sql.rstrip().rstrip(";") + ";\n", db=db, env=env)
        times = re.findall(r"Time: ([0-9.]+) ms", out)
        if not times:
            raise RuntimeError(f"no timing in psql output for {sql!r}: {out}")
        return float(times[-1]) / 1000.0

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline().strip())

    def server_cpu_seconds(self):
        """CPU seconds (user + system) used so far by the postmaster's children: backends,
        the sidecar worker and its RocksDB threads, checkpointer, walwriter."""
        postmaster = str(self.postmaster_pid())
        ticks = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            if fields[1] == postmaster:  # ppid
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    @contextlib.contextmanager
    def one_core(self, cpu=0):
        """While it lasts, backends that connect run on `cpu` only (they inherit the
        postmaster's CPU mask, which is set here and restored after); pgbench() runs the client
        there too."""
        postmaster = self.postmaster_pid()
        before = os.sched_getaffinity(postmaster)
        os.sched_setaffinity(postmaster, {cpu})
        self.pgbench_prefix = ["taskset", "-c", str(cpu)]
        try:
            yield
        finally:
            self.pgbench_prefix = []
            os.sched_setaffinity(postmaster, before)

    def wait_quiet(self, limit=120.0, busy=0.05):
        """Waits until the server's processes use less than `busy` of a core over a second, so
        that one index's timings do not pay for work left over from loading the other (the
        sidecar worker following a build's WAL, RocksDB compacting what it ingested).
        Returns the seconds waited."""
        t0 = time.time()
        last = self.server_cpu_seconds()
        while time.time() - t0 < limit:
            time.sleep(1.0)
            now = self.server_cpu_seconds()
            if now - last < busy:
                return time.time() - t0
            last = now
        log(f"warning: the server was still busy after {limit:.0f} s")
        return time.time() - t0

    def wal_lsn(self):
        return self.psql("SELECT pg_current_wal_insert_lsn()")

    def flush_lsn(self):
        return lsn_int(self.psql("SELECT pg_current_wal_flush_lsn()"))

    def wal_since(self, lsn):
        """WAL bytes written since lsn (by anyone: the benchmark runs alone on its server)."""
        return int(self.psql(f"SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '{lsn}')"))

    def pgbench(self, script_text, clients, seconds, tag, env=None):
        path = os.path.join(self.dir, f"{tag}.pgb")
        with open(path, "w") as f:
            f.write(script_text)
        os.chmod(path, 0o644)
        cmd = self.pgbench_prefix + [
            f"{PG_BIN}/pgbench", "-n", "-M", "prepared", "-h", self.dir, "-p", str(self.port),
            "-f", path, "-T", str(seconds), "-c", str(clients), "-j", str(min(clients, 2)),
            "--random-seed=4242", "bench"]
        r = self.run(cmd, env=env)
        tps = float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", r.stdout).group(1))
        lat = float(re.search(r"latency average = ([0-9.]+) ms", r.stdout).group(1))
        failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
        if failed and int(failed.group(1)) > 0:
            raise RuntimeError(f"pgbench {tag}: failed transactions\n{r.stdout}")
        return tps, lat


class Sampler:
    """Calls sample() every `interval` seconds on a thread while a load runs."""

    def __init__(self, interval):
        self.interval, self.stop = interval, threading.Event()

    def sample(self):
        raise NotImplementedError

    def _run(self):
        while not self.stop.wait(self.interval):
            self.sample()

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


class LagSampler(Sampler):
    """The largest lags alexidx_status() reports on the bench server."""

    def __init__(self, inst):
        super().__init__(0.2)
        self.inst, self.max_apply, self.max_durable, self.samples = inst, 0, 0, 0

    def sample(self):
        out = self.inst.psql("SELECT apply_lag_bytes, durable_lag_bytes FROM alexidx_status()", check=False)
        if "|" in out:
            a, d = (int(x) for x in out.split("|"))
            self.max_apply, self.max_durable = max(self.max_apply, a), max(self.max_durable, d)
            self.samples += 1


class StandbySampler(Sampler):
    """(time, primary flush LSN) and (time, standby sidecar applied LSN) pairs."""

    def __init__(self, primary, applied):
        super().__init__(0.1)
        self.primary, self.applied, self.flushed, self.reached = primary, applied, [], []

    def sample(self):
        self.flushed.append((time.time(), self.primary.flush_lsn()))
        self.reached.append((time.time(), self.applied()))

    def lag_bytes(self):
        return [lp - ls for (_, lp), (_, ls) in zip(self.flushed, self.reached)]

    def lag_times(self):
        """For each primary sample, how long until the standby had applied that far."""
        out = []
        for tp, lp in self.flushed:
            t_s = next((ts for ts, ls in self.reached if ls >= lp), None)
            if t_s is not None:
                out.append(max(0.0, t_s - tp))
        return out


def median(values):
    """The middle value (of an odd count, as the alternating rounds give; the upper middle of an even one)."""
    v = sorted(values)
    return v[len(v) // 2]


def lsn_int(text):
    hi, lo = text.strip().split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def du_bytes(path, want=lambda name: True):
    """Like du: a file with several hard links (a snapshot's SST files are links to the live
    sidecar's) counts once."""
    total = 0
    seen = set()
    for root, _dirs, files in os.walk(path):
        for name in files:
            if not want(name):
                continue
            try:
                st = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


class Bench:
    def __init__(self, inst, args):
        self.inst = inst
        self.args = args
        self.results = []  # dicts: dataset rows dist metric unit alexidx btree
        self.plans = []

    def add(self, ds, metric, unit, ax, bt, better, note=""):
        self.results.append(dict(dataset=ds["name"], rows=ds["rows"], dist=ds["dist"], metric=metric,
                                 unit=unit, alexidx=ax, btree=bt, better=better, note=note))

    # --- SQL fragments -------------------------------------------------------------------
    @staticmethod
    def key_sql(dist, expr):
        if dist == "seq":
            return expr
        if dist == "uni":
            return f"hashint8extended({expr}, 42)"
        if dist == "uuid4":
            return f"md5(({expr})::text)::uuid"
        if dist == "uuid7":
            return (f"(lpad(to_hex(1700000000000 + ({expr}) / 16), 12, '0') || '7' || "
                    f"substr(md5(({expr})::text), 1, 3) || '8' || substr(md5(({expr})::text), 4, 15))::uuid")
        raise ValueError(dist)

    @staticmethod
    def key_type(dist):
        return "uuid" if dist.startswith("uuid") else "bigint"

    def insert_script(self, dist, t, salt):
        """A pgbench script inserting one new row into t."""
        if dist == "seq":
            return f"INSERT INTO {t} VALUES (nextval('{t}_seq'), 0);\n"
        if dist == "uni":
            return f"\\set i random(1, 1000000000000000)\nINSERT INTO {t} VALUES (hashint8extended(:i, {salt}), 0);\n"
        if dist == "uuid4":
            return f"\\set i random(1, 1000000000000000)\nINSERT INTO {t} VALUES (md5(:i::text || 'x{salt}')::uuid, 0);\n"
        # uuid7: the next keys in time order (the sequence goes on after the loaded rows)
        return f"INSERT INTO {t} SELECT {self.key_sql(dist, 's.i')}, 0 FROM nextval('{t}_seq') s(i);\n"

    def range_sql(self, dist, t, width, n, index_only=False):
        """A pgbench script reading about `width` consecutive rows of t: sum(v) over them, or
        with index_only, count(*) of them, which an Index Only Scan answers without the heap
        (the tables are vacuumed before the indexes are built, so every page is all-visible)."""
        agg, col = ("count(*)", "k") if index_only else ("sum(v)", "v")
        if dist == "seq":
            return (f"\\set a random(1, {n - width})\n"
                    f"SELECT {agg} FROM {t} WHERE k BETWEEN :a AND :a + {width - 1};\n")
        if dist == "uni":
            wk = int(2**64 * width / n)  # key-space width holding `width` rows on average
            half = (2**63 - wk) // 2 - 1
            return (f"\\set h random(-{half}, {half})\n\\set lo 2 * :h\n"
                    f"\\set hi :lo + {wk}\n"
                    f"SELECT {agg} FROM {t} WHERE k >= :lo AND k < :hi;\n")
        return (f"\\set a random(1, {n})\n"
                f"SELECT {agg} FROM (SELECT {col} FROM {t} WHERE k >= {self.key_sql(dist, ':a')} "
                f"ORDER BY k LIMIT {width}) s;\n")

    LOOKUPS_IN_SERVER = 50_000

    def lookups_in_server(self, ds, n, dist, env):
        """Point lookups without the client round trip: one PL/pgSQL loop per index runs the
        same LOOKUPS_IN_SERVER random lookups (a cached plan, as pgbench -M prepared uses).
        One client's pgbench spends most of a lookup waiting for the other process to wake
        up, which no index changes; this is the lookup's own cost. The two loops must sum the
        same rows, or the run stops."""
        inst, m = self.inst, self.LOOKUPS_IN_SERVER
        for t in ("ax", "bt"):
            # (the row number goes through a variable: a volatile random() in the qual could
            # not be an index key)
            inst.psql(f"""
CREATE OR REPLACE FUNCTION pgb_lookups_{t}(m int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE s numeric := 0; x bigint; i bigint;
BEGIN
  FOR j IN 1 .. m LOOP
    i := 1 + floor(random() * {n})::bigint;
    SELECT v INTO x FROM {t} WHERE k = {self.key_sql(dist, 'i')};
    s := s + x;
  END LOOP;
  RETURN s;
END $$;""")
        sums = {}

        def loop(t, rnd):
            out = inst.psql(f"\\timing on\nSELECT setseed(0.{rnd + 1});\nSELECT pgb_lookups_{t}({m});\n", env=env)
            rows = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("Time:")]
            sums.setdefault(rnd, set()).add(rows[-1])
            return float(re.findall(r"Time: ([0-9.]+) ms", out)[-1]) * 1000 / m

        us = {t: median(v) for t, v in self.alternate(("ax", "bt"), loop).items()}
        for rnd, got in sums.items():
            if len(got) != 1:
                raise RuntimeError(f"in-server lookups: alexidx and btree found different rows: {got}")
        log(f"point lookups in the server: alexidx {us['ax']:.2f} us, btree {us['bt']:.2f} us per lookup")
        self.add(ds, "lookup_in_server", "us", us["ax"], us["bt"], "lower",
                 f"{m:,} random lookups in one PL/pgSQL loop (no client round trip), "
                 f"median of {self.READ_ROUNDS} alternating rounds")

    RESTART_ROUNDS = 3

    READ_ROUNDS = 3

    def alternate_pgbench(self, runs, clients, warm, secs, tag, inst=None):
        """Runs each of `runs` ({name: (script, env)}) READ_ROUNDS times, in an order that
        turns around every round (ax bt, bt ax, ...), so that a slow spell of the shared
        machine or of the server falls on all of them alike. Each name gets one warm-up
        first. Returns {name: (tps, latency ms)}, the medians over the rounds. On `inst`
        (default: the bench server)."""
        inst = inst or self.inst
        for name, (script, env) in runs.items():
            inst.pgbench(script, clients, warm, f"warm_{tag}_{name}", env=env)
        got = self.alternate(list(runs), lambda name, rnd: inst.pgbench(
            runs[name][0], clients, secs, f"{tag}_{name}_{rnd}", env=runs[name][1]))
        return {name: (median(r[0] for r in rs), median(r[1] for r in rs)) for name, rs in got.items()}

    def alternate(self, names, measure):
        """measure(name, round) for each name, READ_ROUNDS rounds, in an order that turns
        around every round (ax bt, bt ax, ...). Returns {name: [result of each round]}."""
        got = {name: [] for name in names}
        for rnd in range(self.READ_ROUNDS):
            for name in (names if rnd % 2 == 0 else names[::-1]):
                got[name].append(measure(name, rnd))
        return got

    def time_restarts(self, dist, n, env, mode, what):
        """Per index: (stop in `mode`, start to the first answer, start, the first query), the
        median by the first of RESTART_ROUNDS alternating rounds (one start of a server swings
        by a tenth of a second on a busy machine)."""
        inst = self.inst
        runs = {"ax": [], "bt": []}
        for rnd in range(self.RESTART_ROUNDS):
            for t in ("ax", "bt"):
                inst.stop(mode)
                t0 = time.time()
                inst.start_polled()
                t1 = time.time()
                q = f"SELECT v FROM {t} WHERE k = {self.key_sql(dist, str(n // 2))}"
                out = inst.psql(q + ";", env=env)
                t2 = time.time()
                assert out == str(n // 2), f"first query after a {what} on {t} returned {out!r}"
                runs[t].append((t2 - t0, t1 - t0, t2 - t1))
                log(f"{what} -> first answer via {t}: {t2 - t0:.2f}s (start {t1 - t0:.2f}s + first query {t2 - t1:.2f}s)")
        return {t: median(r) for t, r in runs.items()}

    def run_dataset(self, n, dist):
        inst = self.inst
        name = f"{dist}_{rows_label(n)}"
        ds = dict(name=name, rows=n, dist=dist)
        secs = self.args.duration or (4 if n <= 1_000_000 else 10)
        rsecs = self.args.duration or (3 if n <= 1_000_000 else 5)  # per read round
        warm = 1 if n <= 1_000_000 else 2
        log(f"== dataset {name}: loading {n:,} rows into ax, bt")
        inst.psql("DROP TABLE IF EXISTS ax, bt, noidx; DROP SEQUENCE IF EXISTS ax_seq, bt_seq;")
        inst.psql(f"""
CREATE TABLE ax (k {self.key_type(dist)}, v bigint);
CREATE TABLE noidx (k {self.key_type(dist)}, v bigint);
INSERT INTO ax SELECT {self.key_sql(dist, 'g')}, g FROM generate_series(1, {n}) g;
CREATE TABLE bt (k {self.key_type(dist)}, v bigint);
INSERT INTO bt SELECT * FROM ax;
VACUUM (FREEZE, ANALYZE) ax;
VACUUM (FREEZE, ANALYZE) bt;
CHECKPOINT;
""")
        # --- CREATE INDEX ------------------------------------------------------------
        log("CREATE INDEX (btree, then alexidx)")
        inst.psql("CHECKPOINT;")
        lsn = inst.wal_lsn()
        t_bt = inst.timed("CREATE INDEX bt_k ON bt (k)")
        w_bt = inst.wal_since(lsn)
        inst.psql("CHECKPOINT;")
        lsn = inst.wal_lsn()
        t_ax = inst.timed("CREATE INDEX ax_k ON ax USING alexidx (k)")
        w_ax = inst.wal_since(lsn)
        inst.psql("ANALYZE ax; ANALYZE bt; CHECKPOINT;")
        self.add(ds, "create_index", "s", t_ax, t_bt, "lower")
        self.add(ds, "create_index_wal", "B/entry", w_ax / n, w_bt / n, "lower",
                 "WAL bytes CREATE INDEX wrote, per entry (btree: its pages; alexidx: entry chunks)")

        # --- sizes -------------------------------------------------------------------
        time.sleep(1)
        bt_size = int(inst.psql("SELECT pg_relation_size('bt_k')"))
        st = inst.psql("SELECT pg_relation_size('ax_k'), entries, depth, model_nodes, data_nodes, "
                       "shared_bytes, avg_search_distance, sidecar_bytes FROM alexidx_stats('ax_k')")
        rel, entries, depth, mnodes, dnodes, shared, asd, sidecar = st.split("|")
        rel, shared, sidecar = int(rel), int(shared), int(sidecar)
        side = os.path.join(inst.data, "pg_alexidx")
        du = du_bytes(side)
        # the live sidecar's SST files; the snapshots' extra files count in sidecar_dir_du
        sst = du_bytes(os.path.join(side, "pgsql_tmp_live"), lambda f: f.endswith(".sst"))
        wal = du_bytes(side, lambda f: f.endswith(".log") and not f.startswith("LOG"))
        self.add(ds, "disk_bytes", "MB", (rel + sidecar) / 2**20, bt_size / 2**20, "lower",
                 "alexidx: metapage + sidecar_bytes; btree: pg_relation_size")
        self.add(ds, "disk_du_bytes", "MB", (rel + sst) / 2**20, bt_size / 2**20, "lower",
                 "alexidx: metapage + du of the sidecar's SST files after CHECKPOINT")
        self.add(ds, "sidecar_dir_du", "MB", du / 2**20, None, "lower",
                 f"du of the whole pg_alexidx directory (live sidecar and its checkpoint snapshots), "
                 f"shared by all indexes; "
                 f"RocksDB WAL (preallocated) {wal / 2**20:.1f} MB of it")
        self.add(ds, "shared_mem", "MB", shared / 2**20, None, "lower",
                 f"alexidx_stats.shared_bytes; btree pages live in shared_buffers instead "
                 f"(entries={entries} depth={depth} model_nodes={mnodes} data_nodes={dnodes} "
                 f"avg_search_distance={asd})")

        # --- reads -------------------------------------------------------------------
        inst.psql("CREATE EXTENSION IF NOT EXISTS pg_prewarm; "
                  "SELECT pg_prewarm('ax'), pg_prewarm('bt'), pg_prewarm('bt_k');")
        env = {"PGOPTIONS": FORCE_INDEX}
        lookup = {t: f"\\set i random(1, {n})\nSELECT v FROM {t} WHERE k = {self.key_sql(dist, ':i')};\n"
                  for t in ("ax", "bt")}
        ranges = {(width, t): self.range_sql(dist, t, width, n) for width in (100, 10_000) for t in ("ax", "bt")}
        self.record_plans(ds, n, dist)
        quiet = inst.wait_quiet()
        log(f"server quiet after {quiet:.1f} s")
        for clients in (1, 2):
            res = self.alternate_pgbench({t: (lookup[t], env) for t in ("ax", "bt")}, clients,
                                         warm, rsecs, f"lookup_c{clients}")
            log(f"point lookups, {clients} client(s): alexidx {res['ax'][0]:.0f} tps, btree {res['bt'][0]:.0f} tps")
            self.add(ds, f"lookup_tps_c{clients}", "tps", res["ax"][0], res["bt"][0], "higher",
                     f"1 key per transaction, median of {self.READ_ROUNDS} alternating rounds of {rsecs} s")
        # One client with pgbench and its backend on one CPU: each query passes between them
        # by a context switch. Apart, on an idle 2-core VM, each pass wakes the other core from
        # idle, which takes longer than the query itself (bench/README, "Point lookups").
        with inst.one_core():
            res = self.alternate_pgbench({t: (lookup[t], env) for t in ("ax", "bt")}, 1,
                                         warm, rsecs, "lookup_c1_one_core")
        log(f"point lookups, 1 client on the server's CPU: alexidx {res['ax'][0]:.0f} tps, "
            f"btree {res['bt'][0]:.0f} tps")
        self.add(ds, "lookup_tps_c1_one_core", "tps", res["ax"][0], res["bt"][0], "higher",
                 f"as lookup_tps_c1, with pgbench and the backend pinned to one CPU (taskset), "
                 f"median of {self.READ_ROUNDS} alternating rounds of {rsecs} s")
        self.lookups_in_server(ds, n, dist, env)
        # alexidx also with its heap prefetch off: how much of the ratio the prefetch makes
        off = {"PGOPTIONS": FORCE_INDEX + " -c alexidx.prefetch_distance=0"}
        for width in (100, 10_000):
            res = self.alternate_pgbench({"ax": (ranges[(width, "ax")], env), "bt": (ranges[(width, "bt")], env),
                                          "ax_off": (ranges[(width, "ax")], off)}, 1, warm, rsecs, f"range{width}")
            log(f"range scans of {width} rows: alexidx {res['ax'][1]:.3f} ms "
                f"(heap prefetch off {res['ax_off'][1]:.3f} ms), btree {res['bt'][1]:.3f} ms")
            self.add(ds, f"range{width}_latency", "ms", res["ax"][1], res["bt"][1], "lower",
                     f"1 client, sum(v) over the range, median of {self.READ_ROUNDS} alternating rounds" +
                     {"seq": "", "uni": "; rows per range vary (Poisson, mean as named)"}.get(
                         dist, f"; the {width} keys from a random existing one (ORDER BY k LIMIT {width})"))
            self.add(ds, f"range{width}_latency_noprefetch", "ms", res["ax_off"][1], res["bt"][1], "lower",
                     "the same with alexidx.prefetch_distance = 0")
        ios = {t: self.range_sql(dist, t, 10_000, n, index_only=True) for t in ("ax", "bt")}
        res = self.alternate_pgbench({t: (ios[t], env) for t in ("ax", "bt")}, 1, warm, rsecs, "ios10000")
        log(f"index-only counts of 10000 rows: alexidx {res['ax'][1]:.3f} ms, btree {res['bt'][1]:.3f} ms")
        self.add(ds, "ios10000_latency", "ms", res["ax"][1], res["bt"][1], "lower",
                 f"1 client, count(*) over the 10,000-row range (Index Only Scan), median of "
                 f"{self.READ_ROUNDS} alternating rounds")
        if dist in ("seq", "uni"):
            # a tenth of the table, split over 2 workers for either index (parallel_setup_cost 0:
            # at 1M rows the planner would keep 100,000 rows in one process for both)
            width = n // 10
            par = {"PGOPTIONS": PARALLEL_IOS}
            ios = {t: self.range_sql(dist, t, width, n, index_only=True) for t in ("ax", "bt")}
            res = self.alternate_pgbench({t: (ios[t], par) for t in ("ax", "bt")}, 1, warm, rsecs, "ios_parallel")
            log(f"parallel index-only counts of {width} rows: alexidx {res['ax'][1]:.3f} ms, "
                f"btree {res['bt'][1]:.3f} ms")
            self.add(ds, "ios_parallel_latency", "ms", res["ax"][1], res["bt"][1], "lower",
                     f"1 client, count(*) over {width:,} rows (a tenth of the table: Parallel Index Only "
                     f"Scan, 2 workers), median of {self.READ_ROUNDS} alternating rounds")

        # --- restart to first answer: after a clean stop (the arena image), after a crash ---
        res = self.time_restarts(dist, n, env, "fast", "restart")
        self.add(ds, "restart_first_answer", "s", res["ax"][0], res["bt"][0], "lower",
                 f"pg_ctl start (polled) + first indexed query (new psql), median of 3 alternating rounds; first query alone: "
                 f"alexidx {res['ax'][2]:.2f}s, btree {res['bt'][2]:.2f}s; OS page cache warm")
        self.add(ds, "first_query_after_restart", "s", res["ax"][2], res["bt"][2], "lower",
                 "psql connect + the first indexed query after the server accepts connections")
        res = self.time_restarts(dist, n, env, "immediate", "crash restart")
        self.add(ds, "crash_restart_first_answer", "s", res["ax"][0], res["bt"][0], "lower",
                 "pg_ctl stop -m immediate, then start (polled) + first indexed query (new psql), median of 3 alternating rounds")
        self.add(ds, "first_query_after_crash", "s", res["ax"][2], res["bt"][2], "lower",
                 "psql connect + the first indexed query after a crash restart accepts connections "
                 "(alexidx: its tree loads from the sidecar meanwhile; the server's own recovery, "
                 "the same for both, is in crash_restart_first_answer)")

        # --- bulk loads: the index's share ---------------------------------------------
        log("bulk INSERT ... SELECT and COPY of 1M rows (no index / btree / alexidx), best of 2")
        ins = {t: [] for t in ("noidx", "bt", "ax")}
        cpy = {t: [] for t in ("noidx", "bt", "ax")}
        ins_wal = {}
        for rep in range(2):
            a = n + 1 + rep * BULK_ROWS
            b = n + (rep + 1) * BULK_ROWS
            ca, cb = a + 2 * BULK_ROWS, b + 2 * BULK_ROWS
            copyfile = os.path.join(inst.dir, f"bulk{rep}.copy")
            inst.psql(f"COPY (SELECT {self.key_sql(dist, 'g')}, g FROM generate_series({ca}, {cb}) g) "
                      f"TO '{copyfile}';")
            for t in ("noidx", "bt", "ax"):
                inst.psql("TRUNCATE noidx; CHECKPOINT;" if t == "noidx" else "CHECKPOINT;")
                lsn = inst.wal_lsn()
                ins[t].append(inst.timed(
                    f"INSERT INTO {t} SELECT {self.key_sql(dist, 'g')}, g FROM generate_series({a}, {b}) g"))
                if rep == 0:
                    ins_wal[t] = inst.wal_since(lsn)
                inst.psql("CHECKPOINT;")
                cpy[t].append(inst.timed(f"COPY {t} FROM '{copyfile}'"))
            os.unlink(copyfile)
        for label, d in (("insert_select", ins), ("copy", cpy)):
            base = min(d["noidx"])
            ax_share, bt_share = min(d["ax"]) - base, min(d["bt"]) - base
            log(f"{label}: no index {base:.2f}s, btree +{bt_share:.2f}s, alexidx +{ax_share:.2f}s")
            self.add(ds, f"bulk_{label}_share", "s", ax_share, bt_share, "lower",
                     f"time with the index minus without ({base:.2f}s), 1M rows into {rows_label(n)}")
        self.add(ds, "bulk_insert_wal_share", "B/row", (ins_wal["ax"] - ins_wal["noidx"]) / BULK_ROWS,
                 (ins_wal["bt"] - ins_wal["noidx"]) / BULK_ROWS, "lower",
                 f"WAL bytes per row of the 1M-row INSERT ... SELECT with the index minus without "
                 f"({ins_wal['noidx'] / BULK_ROWS:.1f} B/row, full-page images after a CHECKPOINT included)")
        self.add(ds, "shared_mem_after_bulk", "MB",
                 int(inst.psql("SELECT shared_bytes FROM alexidx_stats('ax_k')")) / 2**20, None, "lower",
                 f"after +{4 * BULK_ROWS:,} rows")

        # --- the sidecar worker catches up with the bulk loads' WAL ------------------------
        t0 = time.time()
        lag0 = int(inst.psql("SELECT apply_lag_bytes FROM alexidx_status()"))
        while int(inst.psql("SELECT durable_lag_bytes FROM alexidx_status()")) > 1 << 20:
            time.sleep(0.05)
        log(f"sidecar worker durable {time.time() - t0:.2f}s after the bulk loads ({lag0 / 2**20:.1f} MB behind then)")
        self.add(ds, "sidecar_catchup_after_bulk", "s", time.time() - t0, None, "lower",
                 f"from the end of the bulk loads until alexidx_status().durable_lag_bytes < 1 MB "
                 f"({lag0 / 2**20:.1f} MB of WAL behind at the start)")

        # --- single-row INSERT commits --------------------------------------------------
        start = n + 10 * BULK_ROWS
        inst.psql(f"CREATE SEQUENCE ax_seq START {start}; CREATE SEQUENCE bt_seq START {start};")
        for clients in (1, 8):
            scripts = {t: self.insert_script(dist, t, 7) for t in ("ax", "bt")}
            # alternate the two indexes over COMMIT_ROUNDS rounds and keep each one's median, so
            # that whatever the machine does in the background (a checkpoint, RocksDB compacting
            # the bulk loads) is not charged to whichever index happens to run first
            runs = {"ax": [], "bt": []}
            with LagSampler(inst) as lag:
                for r in range(COMMIT_ROUNDS):
                    for t in (("ax", "bt") if r % 2 == 0 else ("bt", "ax")):
                        runs[t].append(inst.pgbench(scripts[t], clients, secs, f"insert_{t}_{clients}"))
            res = {t: sorted(v)[len(v) // 2] for t, v in runs.items()}
            log(f"single-row INSERT commits/s, {clients} client(s), {COMMIT_ROUNDS} alternating rounds: "
                f"alexidx {', '.join(f'{x[0]:.0f}' for x in runs['ax'])}; btree {', '.join(f'{x[0]:.0f}' for x in runs['bt'])}")
            if clients == 8:
                log(f"sidecar apply lag under 8 writers: max {lag.max_apply / 1024:.0f} kB, "
                    f"durable lag max {lag.max_durable / 1024:.0f} kB ({lag.samples} samples)")
                self.add(ds, "apply_lag_c8_max", "kB", lag.max_apply / 1024, None, "lower",
                         f"max alexidx_status().apply_lag_bytes sampled every 0.2 s during the 8-client "
                         f"INSERT runs; durable_lag_bytes max {lag.max_durable / 1024:.0f} kB")
            self.add(ds, f"insert_tps_c{clients}", "commits/s", res["ax"][0], res["bt"][0], "higher",
                     f"median of {COMMIT_ROUNDS} alternating {secs} s pgbench runs of each")

        if self.args.standby:
            self.standby_lag(ds, n, dist, secs)

        if self.args.check:
            log("alexidx_check")
            inst.psql("SELECT alexidx_check('ax_k', true);")
        inst.psql("DROP TABLE ax, bt, noidx; DROP SEQUENCE IF EXISTS ax_seq, bt_seq; CHECKPOINT;")

    def standby_lag(self, ds, n, dist, secs):
        """A streaming standby of the bench server: how far its sidecar worker trails the
        primary's WAL while 8 clients insert single rows into ax (issue 11)."""
        inst = self.inst
        sb = Instance(os.path.join(inst.dir, "standby"), inst.memory_mb, port=inst.port + 1)
        inst.run(["mkdir", "-p", sb.dir])
        log("standby: pg_basebackup -R (it carries the sidecar's snapshot), then REINDEX ax_k on the "
            "primary, to time how fast the standby applies a whole build from the WAL")
        inst.run([f"{PG_BIN}/pg_basebackup", "-h", inst.dir, "-p", str(inst.port), "-D", sb.data,
                  "-R", "-X", "stream", "-c", "fast"])
        with open(os.path.join(sb.data, "postgresql.auto.conf"), "a") as f:
            f.write(f"\nport = {sb.port}\nunix_socket_directories = '{sb.dir}'\n")
        t0 = time.time()
        sb.start()
        try:
            def applied():
                return lsn_int(sb.psql("SELECT applied_lsn FROM alexidx_status()", check=False) or "0/0")

            def wait_applied(target, limit=600):
                t0 = time.time()
                while applied() < target:
                    if time.time() - t0 > limit:
                        raise RuntimeError("the standby's sidecar did not catch up in time")
                    time.sleep(0.05)
                return time.time() - t0

            wait_applied(inst.flush_lsn())
            log(f"standby: started and caught up in {time.time() - t0:.2f}s")
            self.standby_reads(ds, n, dist, sb)
            t0 = time.time()
            t_reindex = inst.timed("REINDEX INDEX ax_k")
            n = int(inst.psql("SELECT entries FROM alexidx_stats('ax_k')"))
            wait_applied(inst.flush_lsn())
            log(f"standby: REINDEX of {n:,} entries took {t_reindex:.2f}s on the primary and was applied on the "
                f"standby {time.time() - t0:.2f}s after it began")
            script = self.insert_script(dist, "ax", 9)
            with StandbySampler(inst, applied) as samples:
                tps = inst.pgbench(script, 8, secs, "standby_insert_ax")[0]
                # keep sampling while the standby drains, so that the last positions get their times
                drain = wait_applied(inst.flush_lsn())
                time.sleep(0.3)
            lag_bytes, lag_time = samples.lag_bytes(), samples.lag_times()
            q = "SELECT count(*) FROM ax WHERE k IS NOT NULL"
            on_p, on_s = inst.psql(q, env={"PGOPTIONS": FORCE_INDEX}), sb.psql(q, env={"PGOPTIONS": FORCE_INDEX})
            if on_p != on_s:
                raise RuntimeError(f"standby counts {on_s} rows through ax_k, the primary {on_p}")
            med = sorted(lag_time)[len(lag_time) // 2] if lag_time else float("nan")
            log(f"standby under 8 writers ({tps:.0f} commits/s): apply lag max {max(lag_bytes) / 1024:.0f} kB, "
                f"time lag median {med:.3f}s max {max(lag_time, default=float('nan')):.3f}s, drained {drain:.2f}s after")
            self.add(ds, "standby_lag_c8_max", "kB", max(lag_bytes) / 1024, None, "lower",
                     f"primary flush LSN minus the standby sidecar's applied LSN, sampled every 0.1 s under "
                     f"8 single-row INSERT clients ({tps:.0f} commits/s); {on_s} rows equal through the index on both")
            self.add(ds, "standby_lag_c8_time", "s", max(lag_time, default=float("nan")), None, "lower",
                     f"max time from a primary flush LSN to the standby sidecar applying it (median {med:.3f} s; "
                     f"caught up {drain:.2f} s after the load stopped)")
        finally:
            sb.stop(mode="immediate", check=False)
            inst.run(["rm", "-rf", sb.dir])

    def standby_reads(self, ds, n, dist, sb):
        """Reads on the hot standby, where a scan first waits for the sidecar worker to have
        applied what the standby replayed, and an index-only scan pins its entries against
        the replay of a VACUUM: a 100-row range and an index-only count of 10,000 rows."""
        env = {"PGOPTIONS": FORCE_INDEX}
        warm, rsecs = (1, 3) if n <= 1_000_000 else (2, 5)
        if self.args.duration:
            rsecs = self.args.duration
        # (pg_prewarm came with the base backup: the primary created it before the reads)
        sb.psql("SELECT pg_prewarm('ax'), pg_prewarm('bt'), pg_prewarm('bt_k');")
        for metric, script in (("standby_range100_latency", lambda t: self.range_sql(dist, t, 100, n)),
                               ("standby_ios10000_latency",
                                lambda t: self.range_sql(dist, t, 10_000, n, index_only=True))):
            res = self.alternate_pgbench({t: (script(t), env) for t in ("ax", "bt")}, 1, warm, rsecs,
                                         metric, inst=sb)
            log(f"standby {metric}: alexidx {res['ax'][1]:.3f} ms, btree {res['bt'][1]:.3f} ms")
            self.add(ds, metric, "ms", res["ax"][1], res["bt"][1], "lower",
                     f"on the streaming standby, 1 client, median of {self.READ_ROUNDS} alternating "
                     f"rounds (no writes on the primary meanwhile)")

    def record_plans(self, ds, n, dist):
        env = {"PGOPTIONS": FORCE_INDEX}
        key = self.key_sql(dist, str(n // 3))
        for t in ("ax", "bt"):
            rng = (f"SELECT sum(v) FROM (SELECT v FROM {t} WHERE k >= {key} ORDER BY k LIMIT 10000) s"
                   if dist.startswith("uuid") else
                   f"SELECT sum(v) FROM {t} WHERE k >= {key} AND k < {key} + "
                   f"{10_000 if dist == 'seq' else int(2**64 * 10_000 / n)}")
            ios = rng.replace("sum(v)", "count(*)").replace("SELECT v FROM", "SELECT k FROM")
            for q in (f"SELECT v FROM {t} WHERE k = {key}", rng, ios):
                plan = self.inst.psql(f"EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {q};", env=env)
                self.plans.append(f"-- {ds['name']}: {q}\n{plan}\n")
            if dist in ("seq", "uni"):
                lo, hi = (n // 3, n // 3 + n // 10) if dist == "seq" else (-(2**63 // 10), 2**63 // 10)
                q = f"SELECT count(*) FROM {t} WHERE k >= {lo} AND k < {hi}"
                plan = self.inst.psql(f"EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {q};", env={"PGOPTIONS": PARALLEL_IOS})
                self.plans.append(f"-- {ds['name']}: {q}\n{plan}\n")


def fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("tps", "commits/s"):
        return f"{v:,.0f}"
    if unit == "MB":
        return f"{v:,.1f}"
    if unit in ("ms", "us"):
        return f"{v:.3f}"
    if unit == "kB":
        return f"{v:,.0f}"
    return f"{v:.2f}"


def ratio(r):
    if r["alexidx"] is None or r["btree"] is None:
        return None
    if r["btree"] <= 0:
        return None
    return r["alexidx"] / r["btree"]


TARGETS = [  # metric, comparison, bound, label (issue 14's goals)
    ("create_index", "<=", 0.5, "CREATE INDEX time ratio"),
    ("disk_bytes", "<=", 0.4, "on-disk size ratio (sidecar_bytes)"),
    ("disk_du_bytes", "<=", 0.4, "on-disk size ratio (du of sidecar SSTs)"),
    ("bulk_insert_select_share", "<=", 0.5, "bulk INSERT...SELECT index share ratio"),
    ("bulk_copy_share", "<=", 0.5, "bulk COPY index share ratio"),
    ("lookup_tps_c1", ">=", 1.1, "point-lookup TPS ratio, 1 client"),
    ("lookup_tps_c2", ">=", 1.1, "point-lookup TPS ratio, 2 clients"),
    ("range100_latency", "<=", 0.9, "100-row range latency ratio"),
    ("range10000_latency", "<=", 0.8, "10,000-row range latency ratio"),
    ("ios10000_latency", "<=", 0.8, "10,000-row index-only count latency ratio"),
    ("restart_first_answer", "<=", 1.5, "clean restart to first answer ratio"),
    ("first_query_after_crash", "abs<=per10M", 1.0, "first alexidx answer after a crash (s)"),
]
UUID_TARGETS = [  # issue 15, on random uuids (uuid4), 1M rows
    ("bulk_insert_select_share", "<=", 0.5, "bulk INSERT...SELECT index share ratio"),
    ("bulk_copy_share", "<=", 0.5, "bulk COPY index share ratio"),
    ("disk_bytes", "<=", 0.6, "on-disk size ratio (sidecar_bytes)"),
    ("lookup_tps_c1", ">=", 1.0, "point-lookup TPS ratio, 1 client"),
    ("lookup_tps_c2", ">=", 1.0, "point-lookup TPS ratio, 2 clients"),
]


def target_lines(results, ds, targets):
    lines = []
    for metric, op, bound, label in targets:
        r = next((x for x in results if x["dataset"] == ds and x["metric"] == metric), None)
        if r is None:
            continue
        if op == "abs<=per10M":
            # seconds per 10M entries, scaled to the dataset's size
            bound = round(bound * r["rows"] / 10_000_000, 2)
            v, ok = r["alexidx"], r["alexidx"] <= bound
            shown = f"{v:.2f} s"
            op = "<="
        elif op == "abs<=":
            v, ok = r["alexidx"], r["alexidx"] <= bound
            shown = f"{v:.2f} s"
            op = "<="
        else:
            v = ratio(r)
            ok = v is not None and (v <= bound if op == "<=" else v >= bound)
            shown = "n/a" if v is None else f"{v:.2f}"
        lines.append(f"  {'PASS' if ok else 'MISS'}  {label:<42} {shown:>8}  (target {op} {bound})")
        if metric == "lookup_tps_c1":
            lines += lookup_c1_ceiling(results, ds, r)
    return lines


def lookup_c1_ceiling(results, ds, tps):
    """The best 1-client lookup ratio any index could reach here: one client's transaction
    takes 1/TPS, of which btree's whole lookup inside the server (executor and index, no
    round trip) is lookup_in_server; an index costing nothing would save at most that."""
    srv = next((x for x in results if x["dataset"] == ds and x["metric"] == "lookup_in_server"), None)
    if srv is None or not tps["btree"] or not srv["btree"]:
        return []
    txn_us = 1e6 / tps["btree"]
    if txn_us <= srv["btree"]:
        return []
    ceiling = txn_us / (txn_us - srv["btree"])
    return [f"        (ceiling {ceiling:.2f}: a btree transaction takes {txn_us:.0f} us at 1 client, "
            f"its whole lookup in the server {srv['btree']:.1f} us)"]


def report(results, out_dir, header):
    lines = [header, ""]
    w = "{:<10} {:<26} {:>10} {:>14} {:>14} {:>8}"
    lines.append(w.format("dataset", "metric", "unit", "alexidx", "btree", "ratio"))
    lines.append("-" * 87)
    for r in results:
        q = ratio(r)
        lines.append(w.format(r["dataset"], r["metric"], r["unit"], fmt(r["alexidx"], r["unit"]),
                              fmt(r["btree"], r["unit"]), "-" if q is None else f"{q:.2f}"))
    lines.append("")
    # targets: on 10M uniform if measured, else the largest uniform dataset
    uni = [r for r in results if r["dist"] == "uni"]
    if uni:
        rows = 10_000_000 if any(r["rows"] == 10_000_000 for r in uni) else max(r["rows"] for r in uni)
        ds = f"uni_{rows_label(rows)}"
        caveat = "" if rows == 10_000_000 else "  (targets are defined for 10M; this run measured " + ds + ")"
        lines.append(f"Targets on {ds}:{caveat}")
        lines += target_lines(results, ds, TARGETS)
    if any(r["dataset"] == "uuid4_1M" for r in results):
        lines.append("Targets on uuid4_1M (issue 15):")
        lines += target_lines(results, "uuid4_1M", UUID_TARGETS)
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out_dir, "pg-bench.txt"), "w") as f:
        f.write(text + "\n")


def write_csv(results, path):
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["dataset", "rows", "dist", "metric", "unit", "alexidx", "btree", "ratio", "better", "note"])
        for r in results:
            q = ratio(r)
            wr.writerow([r["dataset"], r["rows"], r["dist"], r["metric"], r["unit"],
                         "" if r["alexidx"] is None else f"{r['alexidx']:.6g}",
                         "" if r["btree"] is None else f"{r['btree']:.6g}",
                         "" if q is None else f"{q:.4f}", r["better"], r["note"]])


def write_chart(results, out_dir, title):
    """Clustered bars of alexidx/btree per metric and dataset, log scale, line at 1."""
    metrics = [m for m in dict.fromkeys(r["metric"] for r in results)
               if any(ratio(r) is not None for r in results if r["metric"] == m)]
    datasets = list(dict.fromkeys(r["dataset"] for r in results))
    dat = os.path.join(out_dir, "pg-bench-ratios.dat")
    with open(dat, "w") as f:
        f.write("metric " + " ".join(datasets) + "\n")
        for m in metrics:
            vals = []
            for d in datasets:
                r = next((x for x in results if x["dataset"] == d and x["metric"] == m), None)
                q = ratio(r) if r else None
                vals.append("NaN" if q is None or q <= 0 else f"{q:.4f}")
            f.write(m + " " + " ".join(vals) + "\n")
    gp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chart.gp")
    png = os.path.join(out_dir, "pg-bench.png")
    r = subprocess.run(["gnuplot", "-e", f"datafile='{dat}'; outfile='{png}'; "
                        f"ncols={len(datasets)}; charttitle='{title}'", gp],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"gnuplot failed: {r.stderr.strip()}")
    else:
        log(f"chart: {png}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True, help="scratch directory owned by postgres")
    ap.add_argument("--out", required=True, help="where the CSV, table and chart go")
    ap.add_argument("--rows", default="1M,10M", help="comma list of sizes (default 1M,10M)")
    ap.add_argument("--huge", action="store_true", help="add 100M rows")
    ap.add_argument("--dists", default="seq,uni", help="comma list of seq,uni,uuid4,uuid7")
    ap.add_argument("--duration", type=int, default=0, help="seconds per pgbench run (default 4 for 1M, 10 above; "
                    "reads run 3 alternating rounds of 3 s for 1M, 5 s above)")
    ap.add_argument("--check", action="store_true", help="run alexidx_check at the end of each dataset")
    ap.add_argument("--no-standby", dest="standby", action="store_false",
                    help="skip the streaming standby's apply-lag measurement")
    ap.add_argument("--core", default="", help="label of the core library the extension was built with")
    args = ap.parse_args()

    sizes = [parse_rows(s) for s in args.rows.split(",") if s]
    if args.huge and 100_000_000 not in sizes:
        sizes.append(100_000_000)
    sizes.sort()
    dists = [d for d in args.dists.split(",") if d]
    # every tree of the largest dataset, plus the 4M bulk rows and single-row inserts, with room
    # for the old tree while REINDEX-free growth reallocates: ~48 bytes/entry x 1.5 + 256MB
    biggest = max(sizes) + 5 * BULK_ROWS
    memory_mb = int(math.ceil(biggest * 48 * 1.5 / 2**20)) + 256
    os.makedirs(args.out, exist_ok=True)

    load_before = open("/proc/loadavg").read().split()[:3]
    if float(load_before[0]) > 1.0:
        log(f"warning: load average {' '.join(load_before)} before the run: other work on this "
            f"machine will disturb the numbers")
    inst = Instance(args.workdir, memory_mb)
    log(f"initdb in {inst.data} (alexidx.memory = {memory_mb}MB, shared_buffers = 2GB, fsync on)")
    inst.initdb()
    inst.start()
    bench = Bench(inst, args)
    try:
        inst.psql("CREATE DATABASE bench;", db="postgres")
        inst.psql("CREATE EXTENSION alexidx;")
        version = inst.psql("SELECT alexidx_version() || ' on ' || version();")
        log(version)
        for n in sizes:
            for d in dists:
                bench.run_dataset(n, d)
    finally:
        try:
            inst.stop(mode="fast", check=False)
        except Exception as e:  # noqa: BLE001
            log(f"stop failed: {e}")
        if bench.results:
            with open(os.path.join(args.out, "pg-bench-plans.txt"), "w") as f:
                f.write("\n".join(bench.plans))
            write_csv(bench.results, os.path.join(args.out, "pg-bench.csv"))
    uname = os.uname()
    cpus = os.cpu_count()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    header = (f"alexidx vs btree, {time.strftime('%Y-%m-%d %H:%M')}; {version}\n"
              f"machine: {cpus} cores, {mem_gib:.0f} GiB, {uname.sysname} {uname.release}; "
              f"core library: {args.core or 'unknown'}\n"
              f"instance: shared_buffers 2GB, fsync on, alexidx.memory {memory_mb}MB, "
              f"maintenance_work_mem 1GB (btree builds may use 2 parallel workers), jit off;\n"
              f"reads forced onto the index (enable_seqscan/bitmapscan off), pgbench -M prepared; "
              f"ratio = alexidx / btree\n"
              f"load average before the run {' '.join(load_before)}, after "
              f"{' '.join(open('/proc/loadavg').read().split()[:3])} (other processes disturb the numbers)")
    report(bench.results, args.out, header)
    write_chart(bench.results, args.out, f"alexidx / btree (core: {args.core or 'unknown'})")


if __name__ == "__main__":
    main()
