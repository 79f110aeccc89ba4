// SPDX-License-Identifier: GPL-2.0
/*
 * Count the PageOffline pages of the whole machine from /proc/kpageflags
 * (KPF_OFFLINE), how many of them are in the "skippable" state (KPF_OWNER_2,
 * the page owner's flag the module uses for it), and how many naturally
 * aligned 2 MiB blocks (512 pages) are offline as a whole, the first PFN of
 * the first such block (-1 if none), how many pages are hugetlb pages
 * (KPF_HUGE), how many offline pages are never onlined (KPF_OWNER_PRIVATE,
 * the page owner's flag the module uses for it), and how many pages are
 * hardware-poisoned (KPF_HWPOISON) and free in the buddy allocator
 * (KPF_BUDDY, the first page of each free block); with arguments START_PFN
 * NR_PAGES, only in that range (a 2 MiB block counts only if the range holds
 * it whole).
 * Prints one line: "offline N skippable N blocks2m N first2m PFN huge N
 * never_onlined N hwpoison N buddy N".
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define KPF_BUDDY 10
#define KPF_HUGE 17
#define KPF_HWPOISON 19
#define KPF_OFFLINE 23
#define KPF_OWNER_2 34
#define KPF_OWNER_PRIVATE 37

int main(int argc, char **argv)
{
	static uint64_t flags[4096];	/* a multiple of 512: blocks never straddle reads */
	unsigned long offline = 0, skippable = 0, blocks = 0, in_block = 0, huge = 0, never = 0, pfn = 0;
	unsigned long hwpoison = 0, buddy = 0;
	long first = -1;
	unsigned long start = argc > 2 ? strtoul(argv[1], NULL, 0) : 0;
	unsigned long end = argc > 2 ? start + strtoul(argv[2], NULL, 0) : ~0UL;
	int fd = open("/proc/kpageflags", O_RDONLY);
	ssize_t n = 0;

	if (fd < 0) {
		perror("open /proc/kpageflags");
		return 1;
	}
	pfn = start;
	if (lseek(fd, start * sizeof(uint64_t), SEEK_SET) < 0) {
		perror("seek /proc/kpageflags");
		return 1;
	}
	while (pfn < end && (n = read(fd, flags, sizeof(flags))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(uint64_t) && pfn < end; i++, pfn++) {
			if (flags[i] >> KPF_OFFLINE & 1) {
				offline++;
				in_block++;
				skippable += flags[i] >> KPF_OWNER_2 & 1;
				never += flags[i] >> KPF_OWNER_PRIVATE & 1;
			}
			huge += flags[i] >> KPF_HUGE & 1;
			hwpoison += flags[i] >> KPF_HWPOISON & 1;
			buddy += flags[i] >> KPF_BUDDY & 1;
			if (pfn % 512 == 511) {
				if (in_block == 512 && first < 0)
					first = pfn - 511;
				blocks += in_block == 512;
				in_block = 0;
			}
		}
	}
	if (n < 0) {
		perror("read /proc/kpageflags");
		return 1;
	}
	printf("offline %lu skippable %lu blocks2m %lu first2m %ld huge %lu never_onlined %lu hwpoison %lu buddy %lu\n",
	       offline, skippable, blocks, first, huge, never, hwpoison, buddy);
	return 0;
}
