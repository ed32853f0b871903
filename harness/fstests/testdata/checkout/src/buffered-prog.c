// SPDX-License-Identifier: GPL-2.0
/*
 * Buffered I/O only: no O_DIRECT here,
 * although the usage message names O_DIRECT.
 */
#include <fcntl.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char c = '"';

	if (argc < 2) {
		fprintf(stderr, "usage: %s file (never \"O_DIRECT\")\n", argv[0]);
		return 1;
	}
	return open(argv[1], O_RDWR) < 0 || c != '"'; // O_DIRECT would be wrong
}
