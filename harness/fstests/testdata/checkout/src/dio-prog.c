// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <fcntl.h>

int main(int argc, char **argv)
{
	int fd = open(argv[1], O_RDWR | O_CREAT | O_DIRECT, 0644);

	return fd < 0;
}
