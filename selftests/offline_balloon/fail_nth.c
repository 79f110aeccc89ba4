// SPDX-License-Identifier: GPL-2.0
/*
 * fail_nth N load MODULE [PARAMS]: load MODULE (finit_module) with the Nth
 * fault-injection check of the loading call failing.
 * fail_nth N write FILE TEXT: write TEXT to FILE (e.g. a driver's sysfs
 * "bind") with the Nth fault-injection check of the write failing.
 *
 * Everything but the call under test is done before /proc/thread-self/fail-nth
 * is armed, so N counts only the kernel's checks inside that call (with
 * failslab's ignore-gfp-wait off: its slab allocations). Exits 0 if the call
 * succeeded, 1 if it failed, 2 on a usage or setup error. busybox insmod is
 * no use here: when finit_module fails it retries with init_module.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *arg;
	int fd, nth;
	long rc;

	if (argc < 4 || (strcmp(argv[2], "load") && strcmp(argv[2], "write")) ||
	    (!strcmp(argv[2], "write") && argc != 5)) {
		fprintf(stderr, "usage: fail_nth N load MODULE [PARAMS] | fail_nth N write FILE TEXT\n");
		return 2;
	}
	arg = argc > 4 ? argv[4] : "";
	fd = open(argv[3], strcmp(argv[2], "load") ? O_WRONLY : O_RDONLY);
	nth = open("/proc/thread-self/fail-nth", O_WRONLY);
	if (fd < 0 || nth < 0) {
		perror("open");
		return 2;
	}
	if (write(nth, argv[1], strlen(argv[1])) < 0) {
		perror("/proc/thread-self/fail-nth");
		return 2;
	}
	if (!strcmp(argv[2], "load"))
		rc = syscall(SYS_finit_module, fd, arg, 0);
	else
		rc = write(fd, arg, strlen(arg));
	if (rc < 0) {
		printf("%s\n", strerror(errno));
		return 1;
	}
	return 0;
}
