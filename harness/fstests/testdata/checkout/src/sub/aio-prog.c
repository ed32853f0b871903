// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <fcntl.h>

int main(int argc, char **argv)
{
	int flags = O_RDWR;

	flags |= O_DIRECT;
	return open(argv[1], flags) < 0;
}
