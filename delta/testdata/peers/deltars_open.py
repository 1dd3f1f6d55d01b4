"""The reference of delta's BenchmarkOpenSnapshotVsDeltaRS: delta-rs opening
the same table, one open per request.

Reads one line per request on stdin (the table's path); for each, opens the
latest version with deltalake.DeltaTable, lists its active files (what our
Snapshot holds once open) and prints "<wall ns> <cpu ns> <files>" on stdout.
CPU is this process's (all threads) user + system time.
"""
import sys
import time

from deltalake import DeltaTable


def main() -> None:
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        wall, cpu = time.perf_counter_ns(), time.process_time_ns()
        n = len(DeltaTable(path).file_uris())
        wall, cpu = time.perf_counter_ns() - wall, time.process_time_ns() - cpu
        print(wall, cpu, n, flush=True)


if __name__ == "__main__":
    main()
