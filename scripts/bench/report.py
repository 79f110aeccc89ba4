# SPDX-License-Identifier: GPL-2.0
"""Turn the OB_BENCH lines of a benchmark guest's console log into a table
(stdout) and a JSON file, with the median and the spread (min/median/max) of
every per-round figure and of every ratio, taken round by round.
Usage: report.py JSON_OUT CONSOLE_LOG... [KEY=VALUE...]: the figures of every
log are merged; the KEY=VALUE pairs (kernel, QEMU version...) go into the
JSON's "setup". If JSON_OUT exists, the previous run's, every ratio is
compared with it before it is replaced."""

import json
import os
import random
import statistics
import sys


def parse(path):
    """Every OB_BENCH key of a log with the list of its values, in order."""
    values = {}
    for line in open(path, errors="replace"):
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "OB_BENCH":
            nums = [int(x) for x in parts[2:]]
            values.setdefault(parts[1], []).append(nums[0] if len(nums) == 1 else nums)
    return values


def merge(logs):
    """The values of several parsed logs, each key's in the logs' order."""
    values = {}
    for v in logs:
        for key, xs in v.items():
            values.setdefault(key, []).extend(xs)
    return values


def spread(xs):
    """min, median and max of a list of numbers."""
    return {"min": round(min(xs), 2), "median": round(statistics.median(xs), 2), "max": round(max(xs), 2)}


def fmt(s):
    return f"{s['median']} [{s['min']}-{s['max']}]"


def pct(s):
    """A spread of shares as percentages."""
    # + 0.0: a share of -0.0 reads 0%.
    return f"{s['median'] + 0.0:.0%} [{s['min'] + 0.0:.0%}-{s['max'] + 0.0:.0%}]"


class Report:
    def __init__(self, values):
        self.v = values
        self.pages = self.one("pages")
        self.mib = self.pages / 256
        # Rounds are spread over guest boots, one log each.
        self.boots = len(self.v["rounds"])
        self.rounds = sum(self.v["rounds"])
        self.sim_rounds = sum(self.v["sim_rounds"])
        self.cycles = self.one("host_cycles")
        # Migration samples: memory blocks offlined per round.
        self.mig_samples = self.rounds * self.one("migrate_blocks")

    def one(self, key):
        return self.v[key][0]

    def per_round(self, key, n=None):
        xs = self.v.get(key, [])
        if len(xs) != (n or self.rounds):
            sys.exit(f"benchmark incomplete: {len(xs)} values of {key}, want {n or self.rounds}")
        return xs

    def mib_per_s(self, key, n=None):
        return [self.mib / (ns / 1e9) for ns in self.per_round(key, n)]


def ratios(a, b):
    """Sample by sample ratios a[i] / b[i] (the drivers' samples interleave:
    the i-th of each were taken seconds apart)."""
    return [x / y for x, y in zip(a, b)]


# The host-driven drivers of the main rounds: ours (whole 2 MiB blocks on the
# reporting queue), C, ours with single pages, ours with the reporting path off.
HOST_DRIVERS = ("ours", "c", "order0", "noreport")


def host_rates(rep):
    """MiB/s per host-driven cycle, per driver and operation."""
    return {who: {op: rep.mib_per_s(f"{who}.{op}_ns", rep.rounds * rep.cycles) for op in ("inflate", "deflate")}
            for who in HOST_DRIVERS}


def noreporting_rates(rep):
    """MiB/s per host-driven cycle on the device without free page reporting."""
    return {who: {op: rep.mib_per_s(f"noreporting.{who}.{op}_ns", rep.one("rounds")) for op in ("inflate", "deflate")}
            for who in ("ours", "c")}


def migration_samples(rep, key):
    """Per memory block offlined: a migration figure."""
    return rep.per_round(key, rep.mig_samples)


def per_migrated_page(rep, who, timer="offline_ns"):
    """Per block offlined: a timer (offlining by default) per migrated balloon page."""
    return [t / max(m, 1) for t, m in zip(migration_samples(rep, f"{who}.{timer}"),
                                          migration_samples(rep, f"{who}.migrated"))]


def guest_side(rep):
    """Per simulate round: ns per page of the plain allocator and of ours."""
    return {k: rep.per_round(f"{k}_ns_per_page", rep.sim_rounds) for k in
            ("floor.alloc", "floor.free", "sim.inflate", "sim.deflate", "sim.core")}


def ratio_series(rep):
    """Every ratio, round by round."""
    host, out = host_rates(rep), {}
    for who in ("ours", "order0", "noreport"):
        for op in ("inflate", "deflate"):
            out[f"{who}_{op}"] = ratios(host[who][op], host["c"][op])
    # What the reporting path gains over the inflate and deflate queues.
    for op in ("inflate", "deflate"):
        out[f"report_gain_{op}"] = ratios(host["ours"][op], host["noreport"][op])
    # Deflation against inflation, host-driven (rates: >= 1 is as fast).
    for who in ("ours", "order0"):
        out[f"{who}_deflate_to_inflate_rate"] = ratios(host[who]["deflate"], host[who]["inflate"])
    out["migration_ns_per_page"] = ratios(per_migrated_page(rep, "ours"), per_migrated_page(rep, "c"))
    g = guest_side(rep)
    floor = [a + f for a, f in zip(g["floor.alloc"], g["floor.free"])]
    sim = [i + d for i, d in zip(g["sim.inflate"], g["sim.deflate"])]
    out["simulate_to_floor"] = ratios(sim, floor)
    # Without the balloon core's list functions, which any driver on the core pays.
    out["simulate_without_core_to_floor"] = ratios([x - c for x, c in zip(sim, g["sim.core"])], floor)
    return out


def run_to_run_sd(per_boot, draws=2000):
    """Per ratio, the standard deviation (% of the median) of the difference
    between two runs' medians, from a bootstrap that redraws the boots and,
    within each, the samples (boots move some figures as a whole). With one
    boot it sees the samples' noise only."""
    rng = random.Random(1)
    out = {}
    for key in per_boot[0]:
        pooled = statistics.median([x for boot in per_boot for x in boot[key]])
        medians = []
        for _ in range(draws):
            boots = [rng.choice(per_boot)[key] for _ in per_boot]
            medians.append(statistics.median([rng.choice(b) for b in boots for _ in b]))
        out[key] = round(statistics.pstdev(medians) / pooled * 100 * 2 ** 0.5, 1)
    return out


def main():
    json_out, args = sys.argv[1], sys.argv[2:]
    logs = [parse(a) for a in args if "=" not in a]
    rep = Report(merge(logs))
    v = rep.v
    if v.get("done") != [1] * rep.boots:
        sys.exit("benchmark did not finish: see the console logs")
    r = {"setup": dict(a.split("=", 1) for a in args if "=" in a),
         "pages": rep.pages, "mib": rep.mib, "rounds": rep.rounds, "host_cycles_per_round": rep.cycles,
         "migrate_blocks_per_round": rep.one("migrate_blocks"),
         "simulate_rounds": rep.sim_rounds, "guest_boots": rep.boots, "guest_mib": rep.one("guest_mib")}

    host = host_rates(rep)
    r["host_driven_mib_per_s"] = {who: {op: spread(xs) for op, xs in d.items()} for who, d in host.items()}
    series = ratio_series(rep)
    r["ratio"] = {key: spread(xs) for key, xs in series.items()}
    # How far the next run's medians may land: bootstrap over boots and samples.
    # The main benchmark's boots are the logs with rounds (not the hugetlb guest's).
    per_boot = [ratio_series(Report(v)) for v in logs if "rounds" in v]
    r["ratio_run_to_run_sd_pct"] = run_to_run_sd(per_boot)

    # Migration: time per migrated balloon page, from outside (offlining a
    # memory block that is nearly all balloon), and inside our migratepage
    # hook; a sample per memory block offlined.
    mig = {}
    for who in ("ours", "c"):
        mig[who] = {
            "balloon_pages_migrated": spread(migration_samples(rep, f"{who}.migrated")),
            "all_pages_migrated": spread(migration_samples(rep, f"{who}.pgmigrate")),
            "offlining_ns_per_migrated_page": spread(per_migrated_page(rep, who)),
        }
    r["migration"] = mig
    r["migration"]["ours"]["hook_ns_per_migrated_page"] = spread(per_migrated_page(rep, "ours", "hook_ns"))

    r["driver_bytes_per_page"] = {
        who: round((rep.one(f"{who}.mem1_kb") - rep.one(f"{who}.mem0_kb")) * 1024 / rep.pages, 3)
        for who in ("ours", "c")}
    r["ours_static_kb"] = rep.one("ours.mem0_kb") - rep.one("base_mem_kb")
    r["ours_module_kb"] = rep.one("ours.module_kb")
    r["batch_sweep_mib_per_s"] = {
        b: {op: spread(rep.mib_per_s(f"batch{b}.{op}_ns", rep.cycles)) for op in ("inflate", "deflate")}
        for b in (256, 1024, 4096, 16384)}
    r["batch_sweep_reporting_mib_per_s"] = {
        b: {op: spread(rep.mib_per_s(f"rbatch{b}.{op}_ns", rep.cycles)) for op in ("inflate", "deflate")}
        for b in (1024, 4096, 16384)}
    nr = noreporting_rates(rep)
    r["no_reporting_device_mib_per_s"] = {who: {op: spread(xs) for op, xs in d.items()} for who, d in nr.items()}
    r["no_reporting_device_ratio"] = {op: spread(ratios(nr["ours"][op], nr["c"][op])) for op in ("inflate", "deflate")}

    g = guest_side(rep)
    r["guest_side_ns_per_page"] = {k: spread(xs) for k, xs in g.items()}

    r["simulate_ns_per_page"] = {}
    for order in (9, 0):
        p = f"sim{order}."
        inflate, deflate = rep.per_round(p + "inflate_ns_per_page"), rep.per_round(p + "deflate_ns_per_page")
        r["simulate_ns_per_page"][order] = {
            "inflate": spread(inflate), "deflate": spread(deflate),
            "deflate_to_inflate": spread(ratios(deflate, inflate)),
            "blocks_deflated_whole": spread(rep.per_round(p + "deflated_blocks"))}
    r["huge"] = {}
    for order in (0, 9):
        p = f"sim{order}."
        offline = rep.one(p + "offline")
        thp = rep.one(p + "thp_touch")
        r["huge"][order] = {
            "blocks_inflated_whole": rep.one(p + "blocks_inflated"),
            "share_in_whole_2m_blocks": round(rep.one(p + "blocks2m") * 512 / offline, 3) if offline else 0,
            "free_2m_blocks_after_deflate": rep.one(p + "free_2m_after_deflate"),
            "thp_after_deflate": f"{thp[0]} of {thp[1]}",
            "thp_fault_alloc": rep.one(p + "thp_fault_alloc"),
        }
    # What bounds the host-driven figures: per page, the host-driven time
    # minus the guest-side time of the same work (simulate mode for ours,
    # plain allocation and free for C) is spent outside the guest's page
    # allocator: virtqueue round trips, QEMU's handling of each 4 KiB PFN
    # (madvise), QMP. It bounds the ratio to C whatever the guest does.
    def ns_per_page(mib_per_s):
        return 1e9 / (statistics.median(mib_per_s) * 256)
    sim = r["simulate_ns_per_page"]
    floor_ns = {"inflate": statistics.median(g["floor.alloc"]), "deflate": statistics.median(g["floor.free"])}
    r["bounds_ns_per_page"] = {}
    for op in ("inflate", "deflate"):
        ours_host, c_host = ns_per_page(host["ours"][op]), ns_per_page(host["c"][op])
        ours_out = ours_host - sim[9][op]["median"]
        c_out = c_host - floor_ns[op]
        r["bounds_ns_per_page"][op] = {
            "ours_host_driven": round(ours_host), "ours_guest_side": sim[9][op]["median"],
            "ours_outside_guest": round(ours_out), "c_host_driven": round(c_host),
            "c_plain_allocator": floor_ns[op], "c_outside_guest": round(c_out),
            "max_ratio_with_a_free_guest_side": round(c_host / ours_out, 2)}
    r["host_memory"] = {"normal": host_memory(rep, "normal", ("ours", "noreport", "c"))}
    if v.get("done_hugetlb") == [1]:
        r["host_memory"]["hugetlb"] = host_memory(rep, "hugetlb", ("ours", "noreport", "order0", "c"))
    previous = json.load(open(json_out)) if os.path.exists(json_out) else None
    json.dump(r, open(json_out, "w"), indent=2)
    print_table(r)
    print_noise(r)
    if previous and previous.get("ratio", {}).keys() == r["ratio"].keys():
        print_stability(previous["ratio"], r["ratio"])
    print(f"\nJSON: {json_out}")


def host_memory(rep, backing, drivers):
    """Per driver, over its measurements: MiB ballooned, MiB back on the
    host (QEMU's RSS drop, or the rise of the host's free hugetlb memory)
    and the share."""
    out = {}
    for who in drivers:
        key = f"{backing}.{who}"
        back_kb = [b[0] - a[0] if backing == "normal" else a[1] - b[1]
                   for b, a in zip(rep.v[key + ".host_before"], rep.v[key + ".host_after"])]
        ballooned_kb = rep.v[key + ".ballooned_kb"]
        out[who] = {"ballooned_mib": ballooned_kb[0] // 1024, "samples": len(back_kb),
                    "host_mib_back": spread([kb / 1024 for kb in back_kb]),
                    "share": spread([kb / total for kb, total in zip(back_kb, ballooned_kb)])}
    return out


def print_noise(r):
    """Each ratio's expected run-to-run difference."""
    sd = r["ratio_run_to_run_sd_pct"]
    print("\nexpected difference between two runs' medians (SD; bootstrap over boots and samples)")
    for key, x in r["ratio"].items():
        print(f"  {key:40} {x['median']:6.2f}  SD {sd[key]:4.1f}%")
    print(f"  {sum(v < 5 for v in sd.values())} of {len(sd)} under 5% "
          "(then two runs agree within 10% 19 times in 20)")


def print_stability(before, now):
    """How far each ratio's median moved from the previous run's."""
    print("\nagainst the previous run (median ratios; the goal: within 10%)")
    within = 0
    for key, x in now.items():
        a, b = before[key]["median"], x["median"]
        moved = abs(a - b) / min(a, b) * 100
        within += moved <= 10
        print(f"  {key:40} {a:6.2f} -> {b:6.2f} {moved:5.1f}%{'' if moved <= 10 else '  over 10%'}")
    print(f"  {within} of {len(now)} within 10%")


def print_table(r):
    s = r["setup"]
    print(f"\nBenchmark: Linux {s.get('kernel', '?')} ({s.get('variant', '?')} kernel), "
          f"{r['mib']:.0f} MiB ballooned of a {r['guest_mib']} MiB guest, "
          f"{r['rounds']} rounds over {r['guest_boots']} guest boots "
          f"({r['host_cycles_per_round']} host-driven cycles per driver each, the drivers in turns), "
          f"QEMU {s.get('qemu', '?')} TCG on {s.get('cpu', '?')}")
    print(f"median [min-max]; ratios are ours / C sample by sample: {r['rounds'] * r['host_cycles_per_round']} "
          f"host-driven cycles, {r['rounds'] * r['migrate_blocks_per_round']} memory blocks offlined")
    h, q = r["host_driven_mib_per_s"], r["ratio"]
    print(f"{'':30} {'offline_balloon':>24} {'C virtio_balloon':>24} {'ratio':>20}")
    for who, label in (("ours", "order 9"), ("order0", "order 0"), ("noreport", "no report")):
        for op in ("inflate", "deflate"):
            print(f"host {op} MiB/s, {label:9} {fmt(h[who][op]):>24} {fmt(h['c'][op]):>24} "
                  f"{fmt(q[who + '_' + op]):>20}")
    print(f"{'reporting path gain':30} inflate {fmt(q['report_gain_inflate'])}, "
          f"deflate {fmt(q['report_gain_deflate'])} (order 9 / report_blocks=0, sample by sample)")
    nr, nq = r["no_reporting_device_mib_per_s"], r["no_reporting_device_ratio"]
    for op in ("inflate", "deflate"):
        print(f"{'no-reporting device ' + op:30} {fmt(nr['ours'][op]):>24} {fmt(nr['c'][op]):>24} "
              f"{fmt(nq[op]):>20}")
    print(f"{'ours: deflate/inflate rate':30} order 9 {fmt(q['ours_deflate_to_inflate_rate'])}, "
          f"order 0 {fmt(q['order0_deflate_to_inflate_rate'])}")
    m = r["migration"]
    print(f"{'migration ns/page (offlining)':30} {fmt(m['ours']['offlining_ns_per_migrated_page']):>24} "
          f"{fmt(m['c']['offlining_ns_per_migrated_page']):>24} {fmt(q['migration_ns_per_page']):>20}")
    print(f"{'  balloon pages migrated':30} {fmt(m['ours']['balloon_pages_migrated']):>24} "
          f"{fmt(m['c']['balloon_pages_migrated']):>24}")
    print(f"{'  all pages migrated':30} {fmt(m['ours']['all_pages_migrated']):>24} "
          f"{fmt(m['c']['all_pages_migrated']):>24}")
    print(f"{'  in our migratepage hook ns':30} {fmt(m['ours']['hook_ns_per_migrated_page']):>24}")
    for backing, d in r["host_memory"].items():
        what = "QEMU RSS drop" if backing == "normal" else "HugePages_Free rise"
        row = ", ".join(f"{who} {x['host_mib_back']['median']:.0f} MiB ({pct(x['share'])})" for who, x in d.items())
        print(f"host memory back, {backing} RAM ({what}) of {d['ours']['ballooned_mib']} MiB ballooned, "
              f"measured {d['ours']['samples']}x each: {row}")
    if "hugetlb" not in r["host_memory"]:
        print("host memory back, hugetlb RAM: not measured (no hugetlb pages on the host, or the guest failed)")
    b = r["driver_bytes_per_page"]
    print(f"{'driver bytes/ballooned page':30} {b['ours']:>24} {b['c']:>24}")
    print("\nwhat bounds host-driven ballooning, ns/page (median): host-driven = guest side + outside the guest")
    for op, b in r["bounds_ns_per_page"].items():
        print(f"  {op}: ours (order 9) {b['ours_host_driven']} = {b['ours_guest_side']} + {b['ours_outside_guest']}; "
              f"C {b['c_host_driven']} = {b['c_plain_allocator']} (plain allocator) + {b['c_outside_guest']}; "
              f"ratio bound with a free guest side: {b['max_ratio_with_a_free_guest_side']}x")
    print(f"\nbatch sweep (ours, order 0, host-driven, {r['host_cycles_per_round']} runs): MiB/s inflate / deflate")
    for n, x in r["batch_sweep_mib_per_s"].items():
        print(f"  batch {n:6}: {fmt(x['inflate'])} / {fmt(x['deflate'])}")
    print("batch sweep (ours, order 9, blocks on the reporting queue, batch/512 per report): MiB/s inflate / deflate")
    for n, x in r["batch_sweep_reporting_mib_per_s"].items():
        print(f"  batch {n:6}: {fmt(x['inflate'])} / {fmt(x['deflate'])}")
    g = r["guest_side_ns_per_page"]
    print(f"\nguest side ({r['simulate_rounds']} rounds), ns/page: simulate inflate {fmt(g['sim.inflate'])} + deflate {fmt(g['sim.deflate'])}; "
          f"plain alloc {fmt(g['floor.alloc'])} + free {fmt(g['floor.free'])}: "
          f"{fmt(q['simulate_to_floor'])}x the floor;\n  of the simulate time {fmt(g['sim.core'])} in the balloon core's list "
          f"functions, without them {fmt(q['simulate_without_core_to_floor'])}x the floor")
    print("\nsimulate mode, ns/page         inflate                deflate             deflate/inflate")
    for order, x in r["simulate_ns_per_page"].items():
        print(f"  order {order}: {fmt(x['inflate']):>22} {fmt(x['deflate']):>22} {fmt(x['deflate_to_inflate']):>20}"
              f"   ({x['blocks_deflated_whole']['median']} blocks deflated whole)")
    print("\nhuge-page ballooning (simulate mode, one round)   order 0      order 9")
    h0, h9 = r["huge"][0], r["huge"][9]
    for key in ("blocks_inflated_whole", "share_in_whole_2m_blocks", "free_2m_blocks_after_deflate",
                "thp_after_deflate", "thp_fault_alloc"):
        print(f"  {key:45} {str(h0[key]):>8} {str(h9[key]):>12}")


if __name__ == "__main__":
    main()
