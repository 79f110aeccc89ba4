// SPDX-License-Identifier: GPL-2.0
/*
 * Write MIB MiB of anonymous memory with a non-zero pattern (so that a host
 * cannot tell it from data: a migration sends it as normal pages), then
 * stop (SIGSTOP) while holding it; on SIGCONT exit, freeing it.
 * Usage: touch_mem MIB
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 10) : 0) << 20;
	char *p;

	if (!len) {
		fprintf(stderr, "usage: touch_mem MIB\n");
		return 2;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(p, 0x5a, len);
	raise(SIGSTOP);
	return 0;
}
