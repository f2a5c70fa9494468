/* libFuzzer harness: the configuration file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "libcommon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/lqos-fuzz-conf.XXXXXX";
	struct lqos_config cfg;
	int fd = mkstemp(path);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		lqos_config_load(&cfg, path);
		lqos_config_free(&cfg);
	}
	close(fd);
	unlink(path);
	return 0;
}
