# SPDX-License-Identifier: GPL-2.0
"""Boot the test guest under QEMU, serve the host agent, and judge the run.

The guest's serial console is captured (and echoed) for the test output and
scanned for kernel splats. A virtio-serial port named org.offline_balloon.agent
carries one-line requests from guest selftests to the host agent, which acts
through QMP (the qemu.qmp library) and answers one line: "ok [value]" or
"err <message>". Requests:

  balloon <MiB>            set the balloon target (guest size in MiB)
  balloon-wait <MiB> <s>   set it and wait until the guest reports it (at
                           most <s> seconds); answer the elapsed nanoseconds
  balloon-storm <n> <seed> <lo> <hi>
                           set n targets drawn from [lo, hi] MiB with the
                           given seed, back to back; answer the last one
  query-balloon            answer the guest size the host sees, in MiB
  balloon-trace start|stop trace the balloon's requests (QEMU trace events
                           virtqueue_pop, virtio_balloon_handle_output and
                           ram_block_discard_range, to the -D log); stop
                           answers "requests N pfns N blocks_whole N
                           blocks_split N reports N report_entries N
                           discards_2m N": the requests that carried PFNs,
                           their PFNs, the 2 MiB blocks whose 512 PFNs all
                           came in one request, or not; the reporting
                           requests, their descriptors, and the 2 MiB
                           ranges the host discarded
  host-mem                 answer the QEMU process's VmRSS and the host's free
                           hugetlb memory (HugePages_Free), both in kB
  stats-interval <s>       set guest-stats-polling-interval
  stats                    answer the guest-stats JSON
  wakeup-in <s>            after <s> seconds, wake the guest from suspend to
                           RAM (QMP system_wakeup) once it is suspended
  balloon-device <props>   unplug the balloon device (waiting up to 30 s for
                           the guest to let it go) and plug a new one with
                           the given virtio-balloon-pci properties
                           (k=v,k=v; free-page-hint=on adds the iothread)
  migrate-start <MiB/s>    start a live migration to a sink (exec:cat >
                           /dev/null) at most that fast
  migrate-wait <s> [MiB/s] wait up to <s> seconds for it to end (first
                           raising its speed limit if given), resume the
                           guest, and answer "pages N normal N zero N": the
                           RAM pages sent, normal and zero-filled
  dimm-add <MiB>           hot-plug a DIMM of that size (QMP object-add of a
                           memory-backend-ram, device_add pc-dimm; the guest
                           has DIMM_SLOTS slots and room for DIMM_ROOM_MIB)
                           and answer its id
  dimm-del <id>            unplug that DIMM (waiting up to 30 s for the guest
                           to let it go: its memory must be offline) and
                           delete its memory backend

QEMU is always killed at the end, and the run fails on a timeout, a missing
result, a failed test or any splat on the console. On a timeout the guest
first gets the magic SysRq keys over its serial line (a break, then the key):
9 (every message to the console), l (a backtrace of every CPU) and w (the
blocked tasks), so that the console log shows where a hung guest is stuck.
"""

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sys
import time

from qemu.qmp import QMPClient

SPLAT = re.compile(
    r"BUG:|WARNING:|Oops|bad page|refcount_t:|Kernel panic|kernel BUG at|"
    r"general protection fault|INFO: task .* blocked|detected stall|UBSAN:|KASAN:|"
    r"BUG [^ ]+ \(|Freezing .* failed|suspend .* failed|"
    r"PM: failed to |PM: [a-z_]+\(\): .* returns -[0-9]|pagealloc: memory corruption"
)
TOTALS = re.compile(r"^OB_TOTALS pass=(\d+) fail=(\d+) skip=(\d+)")
EXIT = re.compile(r"^OB_EXIT rc=(\d+)")
BALLOON_QOM = "/machine/peripheral/balloon0"
BALLOON_IOTHREAD = "balloon-io"
# Every feature QEMU's virtio-balloon offers; tests plug other combinations.
DEFAULT_BALLOON_PROPS = "deflate-on-oom=on,free-page-reporting=on,free-page-hint=on"
MIGRATE_SINK = "exec:cat > /dev/null"


def balloon_device(props):
    """The -device / device_add string of the balloon with these properties."""
    dev = f"virtio-balloon-pci,id=balloon0,{props}"
    if "free-page-hint=on" in props:
        dev += f",iothread={BALLOON_IOTHREAD}"
    return dev
MIB = 1 << 20
# Memory the host can hot-plug (dimm-add): slots, and room in all.
DIMM_SLOTS = 4
DIMM_ROOM_MIB = 1024
# With pci=noacpi, the first memory block of the DIMM area holds PCI BARs.
DIMM_BAR_ROOM_MIB = 128


def qemu_command(args, workdir):
    mem = int(os.environ.get("OB_MEM", "1024"))
    # Hot-added memory (dimm-add) arrives offline on every kernel, for the
    # tests to online it where they want it (Debian's kernel would online it
    # itself: MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO).
    append = (
        f"console=ttyS0 panic=-1 loglevel=4 log_buf_len=8M memhp_default_state=offline "
        f"sysrq_always_enabled "
        f"ob.mode={args.mode} ob.mem_mib={mem} "
        f"{'ob.tests=' + args.tests if args.tests else ''} "
        f"{os.environ.get('OB_APPEND', '')}"
    )
    QEMU["bars_in_dimm_area"] = "pci=noacpi" in append.split()
    accel = os.environ.get("OB_ACCEL", "tcg")
    cmd = [
        "qemu-system-x86_64",
        "-accel", accel,
        "-smp", os.environ.get("OB_SMP", "2"),
        "-m", f"{mem}M,slots={DIMM_SLOTS},maxmem={mem + DIMM_ROOM_MIB}M",
        "-kernel", args.kernel,
        "-initrd", args.initrd,
        "-append", append,
        "-nic", "none",
        "-no-reboot",
        "-object", f"iothread,id={BALLOON_IOTHREAD}",
        "-device", balloon_device(DEFAULT_BALLOON_PROPS),
        "-qmp", f"unix:{workdir}/qmp.sock,server=on,wait=off",
        "-D", f"{workdir}/qemu.log",
        "-chardev", f"socket,id=agent,path={workdir}/agent.sock,server=on,wait=off",
        "-device", "virtio-serial-pci",
        "-device", "virtserialport,chardev=agent,name=org.offline_balloon.agent",
    ]
    if args.mode == "shell":
        cmd += ["-nographic"]
    else:
        cmd += ["-display", "none", "-monitor", "none", "-serial", "stdio"]
    cmd += numa_args(mem, int(os.environ.get("OB_SMP", "2")), int(os.environ.get("OB_NUMA", "1")))
    cmd += os.environ.get("OB_QEMU_ARGS", "").split()
    return cmd


def numa_args(mem, cpus, nodes):
    """QEMU arguments for a guest of `nodes` NUMA nodes (none for one): the
    memory split evenly, node i with CPUs i, i + nodes, ..."""
    if nodes <= 1:
        return []
    if mem % nodes or cpus < nodes:
        raise SystemExit(f"OB_NUMA={nodes}: {mem} MiB and {cpus} CPUs do not split evenly")
    args = []
    for i in range(nodes):
        cpu_list = "".join(f",cpus={cpu}" for cpu in range(i, cpus, nodes))
        args += ["-object", f"memory-backend-ram,id=node{i}-mem,size={mem // nodes}M"]
        args += ["-numa", f"node,nodeid={i}{cpu_list},memdev=node{i}-mem"]
    return args


async def wait_for_socket(path, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"QEMU did not create {path}")
        await asyncio.sleep(0.05)


# Wake-up tasks in flight (asyncio keeps only weak references to tasks).
WAKERS = set()
# "pid": the QEMU process (host-mem); "log": its -D log (balloon-trace);
# "migration": the migration task migrate-start began; "dimms": the DIMMs
# dimm-add plugged; "bars_in_dimm_area": the guest assigns PCI BARs itself
QEMU = {}
TRACE_EVENTS = ("virtqueue_pop", "virtio_balloon_handle_output", "ram_block_discard_range")
GPA = re.compile(r"virtio_balloon_handle_output .*gpa: 0x([0-9a-f]+)")
POP = re.compile(r"virtqueue_pop .*in_num (\d+) out_num (\d+)")
DISCARD = re.compile(r"ram_block_discard_range .* \+ 0x([0-9a-f]+): .*ret: (-?\d+)")


async def dimm_addr_past_bars(qmp, size):
    """The lowest address for a DIMM of `size` bytes in the DIMM area, past its
    first memory block. A guest booted with pci=noacpi cannot claim the PCI
    BARs where the firmware put them (the ACPI host bridge, enumerated as a
    platform device then, holds its windows) and assigns the virtio devices'
    64-bit BARs again, at the start of the DIMM area. A DIMM plugged at QEMU's
    default address, that start, hides them: the guest's next virtqueue
    notification lands in RAM and is lost, and virtio_console's control
    message on closing the agent's port spins forever."""
    mtree = await qmp.execute("human-monitor-command", {"command-line": "info mtree"})
    area = re.search(r"^\s*([0-9a-f]+)-[0-9a-f]+ \(prio -?\d+, [^)]*\): device-memory\s*$",
                     mtree, re.M)
    if not area:
        raise RuntimeError("no device-memory region in QEMU's memory tree")
    addr = int(area.group(1), 16) + DIMM_BAR_ROOM_MIB * MIB
    taken = sorted((d["data"]["addr"], d["data"]["size"])
                   for d in await qmp.execute("query-memory-devices") if "addr" in d["data"])
    for start, length in taken:
        if start < addr + size and addr < start + length:
            addr = start + length
    return addr


async def wake_when_suspended(qmp, delay):
    await asyncio.sleep(delay)
    for _ in range(1200):
        if (await qmp.execute("query-status"))["status"] == "suspended":
            await qmp.execute("system_wakeup")
            return
        await asyncio.sleep(0.1)


def balloon_requests(text):
    """Summarize the balloon requests in a QEMU trace: each virtqueue_pop
    starts a request, each virtio_balloon_handle_output adds a PFN to it;
    a pop of device-writable buffers only is a report (free page reporting),
    each buffer one descriptor; each successful ram_block_discard_range of
    2 MiB is one discard of a whole block."""
    requests = []
    reports = entries = discards = 0
    for line in text.splitlines():
        if m := POP.search(line):
            requests.append([])
            if int(m.group(1)) > 0 and int(m.group(2)) == 0:
                reports += 1
                entries += int(m.group(1))
        elif (m := GPA.search(line)) and requests:
            requests[-1].append(int(m.group(1), 16) >> 12)
        elif (m := DISCARD.search(line)) and int(m.group(1), 16) == 2 << 20 and m.group(2) == "0":
            discards += 1
    requests = [r for r in requests if r]
    per_block = {}  # 2 MiB block -> its PFN count in each request carrying some
    for r in requests:
        counts = {}
        for pfn in r:
            counts[pfn >> 9] = counts.get(pfn >> 9, 0) + 1
        for block, n in counts.items():
            per_block.setdefault(block, []).append(n)
    whole = sum(1 for ns in per_block.values() if ns == [512])
    return (f"requests {len(requests)} pfns {sum(map(len, requests))} "
            f"blocks_whole {whole} blocks_split {len(per_block) - whole} "
            f"reports {reports} report_entries {entries} discards_2m {discards}")


async def balloon_trace(qmp, start):
    for name in TRACE_EVENTS:
        await qmp.execute("trace-event-set-state", {"name": name, "enable": start})
    if start:
        QEMU["trace_from"] = os.path.getsize(QEMU["log"]) if os.path.exists(QEMU["log"]) else 0
        return "ok"
    with open(QEMU["log"], errors="replace") as f:
        f.seek(QEMU.get("trace_from", 0))
        return "ok " + balloon_requests(f.read())


def host_mem():
    """QEMU's VmRSS and the host's HugePages_Free, in kB."""
    def field(path, key):
        for line in open(path):
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0
    huge_free = field("/proc/meminfo", "HugePages_Free") * field("/proc/meminfo", "Hugepagesize")
    rss = field(f"/proc/{QEMU['pid']}/status", "VmRSS")
    return f"{rss} {huge_free}"


async def unplug(qmp, dev):
    """Unplug device dev and wait up to 30 s until the guest released it;
    an error answer if it did not."""
    await qmp.execute("device_del", {"id": dev})
    deadline = time.monotonic() + 30
    while any(c["name"] == dev
              for c in await qmp.execute("qom-list", {"path": "/machine/peripheral"})):
        if time.monotonic() > deadline:
            return f"err the guest did not release {dev} in 30 s"
        await asyncio.sleep(0.1)
    return None


async def replace_balloon(qmp, props):
    """Unplug balloon0, wait until the guest released it, plug a new one."""
    if err := await unplug(qmp, "balloon0"):
        return err
    args = dict(kv.split("=", 1) for kv in balloon_device(props).split(",")[1:])
    args["driver"] = "virtio-balloon-pci"
    await qmp.execute("device_add", args)
    return "ok"


async def migrate(qmp, mib_per_s):
    """Migrate to the sink, resume the guest as soon as the migration ends
    (it pauses the guest, which then cannot even ask), and answer what
    migrate-wait reports."""
    await qmp.execute("migrate-set-parameters", {"max-bandwidth": mib_per_s * MIB})
    await qmp.execute("migrate", {"uri": MIGRATE_SINK})
    while (info := await qmp.execute("query-migrate")).get("status") not in (
            "completed", "failed", "cancelled"):
        await asyncio.sleep(0.05)
    if (await qmp.execute("query-status"))["status"] != "running":
        await qmp.execute("cont")
    if info["status"] != "completed":
        return f"err migration {info['status']}: {info.get('error-desc', '')}"
    ram = info["ram"]
    return f"ok pages {ram['normal'] + ram['duplicate']} normal {ram['normal']} zero {ram['duplicate']}"


async def migrate_wait(qmp, timeout):
    """Wait for the migration migrate-start began."""
    task = QEMU.pop("migration", None)
    if task is None:
        return "err no migration started"
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout)
    except asyncio.TimeoutError:
        await qmp.execute("migrate_cancel")
        return await task


async def handle_request(qmp, line):
    words = line.split()
    if not words:
        return "err empty request"
    cmd, rest = words[0], words[1:]
    try:
        if cmd == "balloon" and len(rest) == 1:
            await qmp.execute("balloon", {"value": int(rest[0]) * MIB})
            return "ok"
        if cmd == "balloon-wait" and len(rest) == 2:
            target, timeout = int(rest[0]) * MIB, float(rest[1])
            start = time.monotonic_ns()
            await qmp.execute("balloon", {"value": target})
            while (await qmp.execute("query-balloon"))["actual"] != target:
                if time.monotonic_ns() - start > timeout * 1e9:
                    return f"err the guest did not reach {rest[0]} MiB in {rest[1]} s"
                await asyncio.sleep(0.005)
            return f"ok {time.monotonic_ns() - start}"
        if cmd == "balloon-storm" and len(rest) == 4:
            n, seed, lo, hi = (int(w) for w in rest)
            rng = random.Random(seed)
            for _ in range(n):
                target = rng.randint(lo, hi)
                await qmp.execute("balloon", {"value": target * MIB})
            return f"ok {target}"
        if cmd == "balloon-trace" and rest in (["start"], ["stop"]):
            return await balloon_trace(qmp, rest[0] == "start")
        if cmd == "host-mem" and not rest:
            return f"ok {host_mem()}"
        if cmd == "ping" and not rest:
            return "ok"
        if cmd == "query-balloon" and not rest:
            res = await qmp.execute("query-balloon")
            return f"ok {res['actual'] // MIB}"
        if cmd == "stats-interval" and len(rest) == 1:
            await qmp.execute("qom-set", {"path": BALLOON_QOM,
                                          "property": "guest-stats-polling-interval",
                                          "value": int(rest[0])})
            return "ok"
        if cmd == "wakeup-in" and len(rest) == 1:
            task = asyncio.create_task(wake_when_suspended(qmp, float(rest[0])))
            WAKERS.add(task)
            task.add_done_callback(WAKERS.discard)
            return "ok"
        if cmd == "balloon-device" and len(rest) == 1:
            return await replace_balloon(qmp, rest[0])
        if cmd == "migrate-start" and len(rest) == 1:
            QEMU["migration"] = asyncio.create_task(migrate(qmp, int(rest[0])))
            return "ok"
        if cmd == "migrate-wait" and len(rest) in (1, 2):
            if len(rest) == 2:
                await qmp.execute("migrate-set-parameters",
                                  {"max-bandwidth": int(rest[1]) * MIB})
            return await migrate_wait(qmp, float(rest[0]))
        if cmd == "dimm-add" and len(rest) == 1:
            dimm = f"dimm{len(QEMU.setdefault('dimms', []))}"
            size = int(rest[0]) * MIB
            await qmp.execute("object-add", {"qom-type": "memory-backend-ram",
                                             "id": f"{dimm}-mem", "size": size})
            place = {}
            if QEMU.get("bars_in_dimm_area"):
                place["addr"] = await dimm_addr_past_bars(qmp, size)
            await qmp.execute("device_add", {"driver": "pc-dimm", "id": dimm,
                                             "memdev": f"{dimm}-mem", **place})
            QEMU["dimms"].append(dimm)
            return f"ok {dimm}"
        if cmd == "dimm-del" and len(rest) == 1:
            if err := await unplug(qmp, rest[0]):
                return err
            await qmp.execute("object-del", {"id": f"{rest[0]}-mem"})
            return "ok"
        if cmd == "stats" and not rest:
            res = await qmp.execute("qom-get", {"path": BALLOON_QOM,
                                                "property": "guest-stats"})
            return "ok " + json.dumps(res, separators=(",", ":"))
    except Exception as exc:  # the guest gets every failure as an answer
        return f"err {type(exc).__name__}: {exc}".replace("\n", " ")
    return f"err unknown request: {line}"


async def serve_agent(path, qmp):
    """Answer the guest's agent requests until the connection ends."""
    while True:
        try:
            reader, writer = await asyncio.open_unix_connection(path)
            break
        except OSError:
            await asyncio.sleep(0.05)
    while True:
        raw = await reader.readline()
        if not raw:
            return
        line = raw.decode(errors="replace").strip()
        if not line:
            continue
        reply = await handle_request(qmp, line)
        writer.write((reply + "\n").encode())
        await writer.drain()


async def read_console(proc, log, state, echo):
    while True:
        raw = await proc.stdout.readline()
        if not raw:
            return
        line = raw.decode(errors="replace").rstrip("\r\n")
        log.write(line + "\n")
        if echo:
            print(line, flush=True)
        if SPLAT.search(line):
            state["splats"].append(line)
        if m := TOTALS.match(line):
            state["totals"] = tuple(int(x) for x in m.groups())
        if m := EXIT.match(line):
            state["rc"] = int(m.group(1))


async def dump_stacks(qmp, proc):
    """The SysRq keys 9, l and w over the serial console (the kernel's
    8250 driver takes a break followed by a key as SysRq), then 10 s for the
    guest to print what they show."""
    try:
        for key in b"9lw":
            await qmp.execute("chardev-send-break", {"id": "serial0"})
            proc.stdin.write(bytes([key]))
            await proc.stdin.drain()
            await asyncio.sleep(2)
        await asyncio.sleep(10)
    except Exception as e:
        print(f"# host: could not ask the guest for its stacks: {e}")


async def run(args):
    workdir = args.workdir
    cmd = qemu_command(args, workdir)
    interactive = args.mode == "shell"
    timeout = float(os.environ.get("OB_TIMEOUT", "0") or 0) or (None if interactive else 1800)
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=None if interactive else asyncio.subprocess.PIPE,
        stdout=None if interactive else asyncio.subprocess.PIPE,
    )
    QEMU["pid"] = proc.pid
    QEMU["log"] = f"{workdir}/qemu.log"
    state = {"splats": [], "totals": None, "rc": None}
    qmp = QMPClient("offline_balloon")
    tasks = []
    log_path = os.path.join(os.environ.get("OB_LOG_DIR", "."), f"guest-{args.mode}.log")
    log = open(log_path, "w")
    timed_out = False
    try:
        await wait_for_socket(f"{workdir}/qmp.sock", proc)
        await qmp.connect(f"{workdir}/qmp.sock")
        if interactive:
            print(f"QMP socket: {workdir}/qmp.sock (e.g. socat - UNIX-CONNECT:{workdir}/qmp.sock)",
                  file=sys.stderr)
            print("Quit QEMU with Ctrl-A X, or 'exit' in the guest shell.", file=sys.stderr)
        tasks.append(asyncio.create_task(serve_agent(f"{workdir}/agent.sock", qmp)))
        if not interactive:
            tasks.append(asyncio.create_task(read_console(proc, log, state, echo=True)))
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            timed_out = True
            if not interactive:
                await dump_stacks(qmp, proc)
        if not interactive:
            try:
                await asyncio.wait_for(tasks[-1], 10)
            except asyncio.TimeoutError:
                pass
    finally:
        for t in tasks:
            t.cancel()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        try:
            await qmp.disconnect()
        except Exception:
            pass
        log.close()
    return judge(args, state, timed_out, timeout, log_path)


def judge(args, state, timed_out, timeout, log_path):
    if args.mode == "shell":
        return 0
    problems = []
    if timed_out:
        problems.append(f"guest timed out after {timeout:.0f} s")
    if state["rc"] is None:
        problems.append("guest ended without a result (crash or panic?)")
    for line in state["splats"]:
        problems.append(f"kernel splat on the console: {line}")
    for p in problems:
        print(f"# host: {p}")
    print(f"# host: console log in {log_path}")
    if args.mode != "check":
        return 1 if problems or state["rc"] else 0
    passed, failed, skipped = state["totals"] or (0, 0, 0)
    failed += len(problems)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or state["rc"] else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mode", choices=["check", "run", "bench", "shell"], required=True)
    ap.add_argument("--tests", default="")
    args = ap.parse_args()
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("qemu-system-x86_64 not found: run scripts/setup.sh")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
