/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading the optional shared libraries at run time (see dl.h), after
 * systemd's dlopen_many_sym_or_warn (src/shared/dlfcn-util.c): dlopen(3)
 * by soname with RTLD_NOW (every symbol bound at once: a missing one fails
 * here, not in the middle of a scan), RTLD_LOCAL (nothing leaks into the
 * global namespace) and RTLD_NODELETE (the handle is never closed: the sym_
 * pointers stay valid for the life of the process); then dlsym(3) for each
 * entry of the library's table.  All or nothing: on any failure every sym_
 * pointer of the library is NULL.
 *
 * One lock serialises the loads: content probing runs in worker threads,
 * and a load happens once per library and process.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl.h"

static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

/* soname is named in IMGSCAN_DLOPEN_FAIL (a test hook: it can only make a load fail) */
static bool forced_failure(const char *soname)
{
	const char *v = getenv(IMG_DL_FAIL_ENV);
	size_t len = strlen(soname);

	if (!v || !*v)
		return false;
	if (strcmp(v, "all") == 0)
		return true;
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, soname, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static void set_error(struct img_dl_lib *lib, const char *what, const char *detail)
{
	snprintf(lib->error, sizeof(lib->error), "%s%s%s", what, detail ? ": " : "",
	         detail ? detail : "");
}

static int load_locked(struct img_dl_lib *lib)
{
	void *h;

	if (forced_failure(lib->soname)) {
		set_error(lib, "not loaded", IMG_DL_FAIL_ENV " names it");
		return -ELIBACC;
	}
	(void)dlerror();
	h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h) {
		const char *e = dlerror();

		set_error(lib, e ? e : "dlopen failed", NULL);
		return -ELIBACC;
	}
	for (size_t i = 0; i < lib->n_syms; i++) {
		void *p;

		(void)dlerror();
		p = dlsym(h, lib->syms[i].name);
		if (!p) {
			const char *e = dlerror();

			set_error(lib, e ? e : "symbol not found", e ? NULL : lib->syms[i].name);
			for (size_t j = 0; j < lib->n_syms; j++)
				*lib->syms[j].ptr = NULL;
			/* RTLD_NODELETE: the library stays mapped, unused */
			dlclose(h);
			return -ELIBBAD;
		}
		*lib->syms[i].ptr = p;
	}
	/* the sym_ pointers are all set; the handle is never closed (RTLD_NODELETE) */
	return 0;
}

int img_dl_load(struct img_dl_lib *lib, const char *feature)
{
	int r;

	pthread_mutex_lock(&dl_lock);
	if (lib->state == 0) {
		r = load_locked(lib);
		lib->state = r < 0 ? r : 1;
	}
#ifndef IMGSCAN_BUILDING_LIBRARY
	/* libimgscan writes nothing to stderr: its callers get the errno */
	if (lib->state < 0 && feature && !lib->reported) {
		fprintf(stderr, "imgscan: %s needs %s (Debian package %s): %s\n", feature, lib->soname,
		        lib->package, lib->error);
		lib->reported = true;
	}
#endif
	r = lib->state < 0 ? lib->state : 0;
	pthread_mutex_unlock(&dl_lock);
	return r;
}
