/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/e2e/guard-rules -- print the guard table (scanner/enum/guard.c) as
 * the guard lines udev/65-imgscan.rules must hold, in the table's order, one
 * per line, for tests/e2e/rules-verify.sh.  With -n each line is preceded by
 * the rule's name and a tab.  Rules the udev rule does not carry (facts only
 * sysfs or the database give) are not printed.  Exit 1 when a rule meant for
 * the udev rule cannot be written in udev syntax.
 */
#include <stdio.h>
#include <string.h>

#include "enum/guard.h"

int main(int argc, char **argv)
{
	bool names = argc > 1 && strcmp(argv[1], "-n") == 0;
	char line[512];

	for (size_t i = 0; i < img_guard_n_rules; i++) {
		const struct img_guard_rule *r = &img_guard_rules[i];

		if (!r->in_udev_rule)
			continue;
		if (img_guard_udev_line(r, line, sizeof(line)) < 0) {
			fprintf(stderr, "guard-rules: rule %s has no udev form\n", r->name);
			return 1;
		}
		if (names)
			printf("%s\t", r->name);
		printf("%s\n", line);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
