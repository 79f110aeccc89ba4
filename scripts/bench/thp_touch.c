// SPDX-License-Identifier: GPL-2.0
/*
 * Map MIB MiB of anonymous memory aligned to 2 MiB, ask for transparent huge
 * pages, touch every 4 KiB page, then print how many 2 MiB ranges are backed
 * by a huge page (AnonHugePages of /proc/self/smaps_rollup).
 * Usage: thp_touch MIB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE (2UL << 20)

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 10) : 64) << 20;
	char *raw = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char line[256];
	unsigned long kb = 0;
	FILE *f;

	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	char *p = (char *)(((unsigned long)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(p, len, MADV_HUGEPAGE);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	f = fopen("/proc/self/smaps_rollup", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			break;
	printf("huge_pages %lu of %zu\n", kb / 2048, len / HUGE);
	return 0;
}
