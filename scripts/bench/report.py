# SPDX-License-Identifier: GPL-2.0
"""Turn the OB_BENCH lines of a benchmark guest's console log into a table
(stdout) and a JSON file. Usage: report.py CONSOLE_LOG JSON_OUT"""

import json
import statistics
import sys


def parse(path):
    values = {}
    for line in open(path, errors="replace"):
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "OB_BENCH":
            nums = [int(x) for x in parts[2:]]
            values[parts[1]] = nums[0] if len(nums) == 1 else nums
    return values


def main():
    v = parse(sys.argv[1])
    if v.get("done") != 1:
        sys.exit("benchmark did not finish: see the console log")
    pages = v["pages"]
    mib = pages / 256
    r = {"pages": pages, "mib": mib, "rounds": v["rounds"]}

    def rate(ns):
        return {"ns": ns, "mib_per_s": round(mib / (ns / 1e9), 1), "ns_per_page": round(ns / pages, 1)}

    for who in ("ours", "c"):
        r[who] = {
            "inflate": rate(v[f"{who}.inflate_ns"]),
            "deflate": rate(v[f"{who}.deflate_ns"]),
            "migrated_pages": v[f"{who}.migrated"],
            "compact_s": round(v[f"{who}.compact_ns"] / 1e9, 3),
            "migrated_per_s": round(v[f"{who}.migrated"] / (v[f"{who}.compact_ns"] / 1e9), 1),
            "driver_bytes_per_page": round((v[f"{who}.mem1_kb"] - v[f"{who}.mem0_kb"]) * 1024 / pages, 3),
        }
    r["ours"]["static_kb"] = v["ours.mem0_kb"] - v["base_mem_kb"]
    r["ours"]["module_kb"] = v["ours.module_kb"]
    r["ratio_inflate"] = round(r["ours"]["inflate"]["mib_per_s"] / r["c"]["inflate"]["mib_per_s"], 2)
    r["ratio_deflate"] = round(r["ours"]["deflate"]["mib_per_s"] / r["c"]["deflate"]["mib_per_s"], 2)
    r["ratio_migrated_per_s"] = round(r["ours"]["migrated_per_s"] / max(r["c"]["migrated_per_s"], 1e-9), 2)
    r["ours_order0"] = {"inflate": rate(v["order0.inflate_ns"]), "deflate": rate(v["order0.deflate_ns"])}
    r["ratio_inflate_order0"] = round(r["ours_order0"]["inflate"]["mib_per_s"] / r["c"]["inflate"]["mib_per_s"], 2)
    r["ratio_deflate_order0"] = round(r["ours_order0"]["deflate"]["mib_per_s"] / r["c"]["deflate"]["mib_per_s"], 2)
    r["batch_sweep"] = {
        b: {"inflate": rate(v[f"batch{b}.inflate_ns"]), "deflate": rate(v[f"batch{b}.deflate_ns"])}
        for b in (256, 1024, 4096, 16384)
    }
    floor = v["floor.alloc_ns_per_page"] + v["floor.free_ns_per_page"]
    sim = v["sim.inflate_ns_per_page"] + v["sim.deflate_ns_per_page"]
    r["guest_side"] = {
        "floor_alloc_ns_per_page": v["floor.alloc_ns_per_page"],
        "floor_free_ns_per_page": v["floor.free_ns_per_page"],
        "inflate_ns_per_page": v["sim.inflate_ns_per_page"],
        "deflate_ns_per_page": v["sim.deflate_ns_per_page"],
        "ratio_to_floor": round(sim / floor, 2),
    }
    r["huge"] = {}
    for order in (0, 9):
        p = f"sim{order}."
        offline = v[p + "offline"]
        r["huge"][order] = {
            "inflate_ns_per_page": v[p + "inflate_ns_per_page"],
            "deflate_ns_per_page": v[p + "deflate_ns_per_page"],
            "blocks_inflated_whole": v[p + "blocks_inflated"],
            "share_in_whole_2m_blocks": round(v[p + "blocks2m"] * 512 / offline, 3) if offline else 0,
            "free_2m_blocks_after_deflate": v[p + "free_2m_after_deflate"],
            "thp_after_deflate": f"{v[p + 'thp_touch'][0]} of {v[p + 'thp_touch'][1]}",
            "thp_fault_alloc": v[p + "thp_fault_alloc"],
        }
    r["huge"]["ratio_inflate_rate_order9"] = round(
        r["huge"][0]["inflate_ns_per_page"] / r["huge"][9]["inflate_ns_per_page"], 2)

    json.dump(r, open(sys.argv[2], "w"), indent=2)
    o, c = r["ours"], r["c"]
    print(f"\nBenchmark: {mib:.0f} MiB of a {mib + 256:.0f} MiB guest, median of {r['rounds']} rounds, TCG")
    print(f"{'':34} {'offline_balloon':>16} {'C virtio_balloon':>17} {'ratio':>7}")
    print("(offline_balloon defaults: 2 MiB blocks first (order=9), 1024 pages per request)")
    for op in ("inflate", "deflate"):
        print(f"host-driven {op:8} MiB/s        {o[op]['mib_per_s']:16} {c[op]['mib_per_s']:17} "
              f"{r['ratio_' + op]:7}")
        print(f"host-driven {op:8} ns/page      {o[op]['ns_per_page']:16} {c[op]['ns_per_page']:17}")
    o0 = r["ours_order0"]
    for op in ("inflate", "deflate"):
        print(f"  with order=0: {op:8} MiB/s  {o0[op]['mib_per_s']:16} {c[op]['mib_per_s']:17} "
              f"{r['ratio_' + op + '_order0']:7}")
    print(f"migration pages/s (compaction)     {o['migrated_per_s']:16} {c['migrated_per_s']:17} "
          f"{r['ratio_migrated_per_s']:7}")
    print(f"driver memory bytes/ballooned page {o['driver_bytes_per_page']:16} {c['driver_bytes_per_page']:17}")
    print("\nbatch sweep (offline_balloon order=0, host-driven, median of 3): MiB/s inflate / deflate")
    for b, s in r["batch_sweep"].items():
        print(f"  batch {b:6}: {s['inflate']['mib_per_s']:8} / {s['deflate']['mib_per_s']}")
    g = r["guest_side"]
    print(f"\nguest side (simulate mode): inflate {g['inflate_ns_per_page']} + deflate {g['deflate_ns_per_page']} "
          f"ns/page vs floor alloc {g['floor_alloc_ns_per_page']} + free {g['floor_free_ns_per_page']} "
          f"ns/page: {g['ratio_to_floor']}x the floor")
    print("\nhuge-page ballooning (simulate mode)        order 0      order 9")
    h0, h9 = r["huge"][0], r["huge"][9]
    for key in ("inflate_ns_per_page", "deflate_ns_per_page", "share_in_whole_2m_blocks",
                "free_2m_blocks_after_deflate", "thp_after_deflate", "thp_fault_alloc"):
        print(f"  {key:40} {str(h0[key]):>8} {str(h9[key]):>12}")
    print(f"  inflate rate order 9 / order 0: {r['huge']['ratio_inflate_rate_order9']}x")
    print(f"\nJSON: {sys.argv[2]}")


if __name__ == "__main__":
    main()
