// SPDX-License-Identifier: GPL-2.0
/*
 * Count the PageOffline pages of the whole machine from /proc/kpageflags
 * (KPF_OFFLINE) and how many of them are in the "skippable" state
 * (KPF_OWNER_2, the page owner's flag the module uses for it).
 * Prints one line: "offline N skippable N".
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define KPF_OFFLINE 23
#define KPF_OWNER_2 34

int main(void)
{
	static uint64_t flags[4096];
	unsigned long offline = 0, skippable = 0;
	int fd = open("/proc/kpageflags", O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		perror("open /proc/kpageflags");
		return 1;
	}
	while ((n = read(fd, flags, sizeof(flags))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(uint64_t); i++) {
			if (flags[i] >> KPF_OFFLINE & 1) {
				offline++;
				skippable += flags[i] >> KPF_OWNER_2 & 1;
			}
		}
	}
	if (n < 0) {
		perror("read /proc/kpageflags");
		return 1;
	}
	printf("offline %lu skippable %lu\n", offline, skippable);
	return 0;
}
