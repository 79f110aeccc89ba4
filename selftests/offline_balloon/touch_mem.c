// SPDX-License-Identifier: GPL-2.0
/*
 * Write MIB MiB of anonymous memory with a non-zero pattern (so that a host
 * cannot tell it from data: a migration sends it as normal pages), then
 * stop (SIGSTOP) while holding it; on SIGCONT check that every byte still
 * holds the pattern (exit 3 if not: memory lost behind the guest's back)
 * and exit, freeing it. With NODE, the memory comes from that NUMA node
 * only (MPOL_BIND).
 * Usage: touch_mem MIB [NODE]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MPOL_BIND 2

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 10) : 0) << 20;
	static char page[4096];
	char *p;

	if (!len || argc > 3) {
		fprintf(stderr, "usage: touch_mem MIB [NODE]\n");
		return 2;
	}
	if (argc == 3) {
		unsigned long node = strtoul(argv[2], NULL, 10);
		unsigned long mask = 1UL << node;

		if (node >= 8 * sizeof(mask)) {
			fprintf(stderr, "touch_mem: node %lu out of range\n", node);
			return 2;
		}
		if (syscall(SYS_set_mempolicy, MPOL_BIND, &mask, 8 * sizeof(mask))) {
			perror("set_mempolicy");
			return 1;
		}
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(p, 0x5a, len);
	raise(SIGSTOP);
	memset(page, 0x5a, sizeof(page));
	for (size_t off = 0; off < len; off += sizeof(page)) {
		if (memcmp(p + off, page, sizeof(page))) {
			fprintf(stderr, "touch_mem: the page at offset %zu of %zu lost its pattern\n",
				off, len);
			return 3;
		}
	}
	return 0;
}
