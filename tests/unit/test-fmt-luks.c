/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the LUKS1 probe (fmt-luks.c).  Expected format-specific
 * trees are the `qemu-img info --output=json | jq -c '."format-specific".data'`
 * strings of qemu-img 7.2.22 on the fixtures (fixtures/README) and on
 * copies patched as below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void assert_spec(const struct img_result *res, const char *want)
{
	char buf[4096];

	assert_non_null(res->spec.type);
	assert_string_equal(res->spec.type, "luks");
	assert_false(res->spec.overflow);
	t_spec_json(&res->spec, -1, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

#define SLOTS_256K                                                                              \
	"\"slots\":[{\"active\":true,\"iters\":1000,\"key-offset\":4096,\"stripes\":4000},"      \
	"{\"active\":false,\"key-offset\":262144},{\"active\":false,\"key-offset\":520192},"     \
	"{\"active\":false,\"key-offset\":778240},{\"active\":false,\"key-offset\":1036288},"    \
	"{\"active\":false,\"key-offset\":1294336},{\"active\":false,\"key-offset\":1552384},"   \
	"{\"active\":false,\"key-offset\":1810432}]"

static const char want_c1[] =
	"{\"ivgen-alg\":\"plain64\",\"hash-alg\":\"sha256\",\"cipher-alg\":\"aes-256\","
	"\"uuid\":\"b6281d0c-176d-4da8-931f-4d77922ff49d\",\"cipher-mode\":\"xts\"," SLOTS_256K
	",\"payload-offset\":2097152,\"master-key-iters\":1000}";

static struct img_result *probe_sparse(const char *name, uint64_t *ret_size)
{
	struct t_sparse s;
	struct img_reader r;
	struct img_result *res = t_result_new();

	t_sparse_load(&s, name, &r);
	if (ret_size)
		*ret_size = r.size;
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&s);
	return res;
}

static void test_cryptsetup_luks1(void **state)
{
	struct img_result *res = probe_sparse("luks-cryptsetup-luks1-32M", NULL);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_LUKS);
	assert_string_equal(img_format_name(res->format), "luks");
	assert_null(res->damaged);
	assert_int_equal(res->encryption, IMG_ENC_LUKS);
	assert_true(res->has_virtual_size);
	assert_int_equal(res->virtual_size, 31457280);
	assert_int_equal(res->cluster_size, 0);
	assert_true(res->has_version);
	assert_int_equal(res->version, 1);
	assert_false(res->backing_file.present);
	assert_spec(res, want_c1);
	free(res);
}

static void test_qemu_luks(void **state)
{
	struct img_result *res = probe_sparse("luks-qemu-16M", NULL);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_LUKS);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 16777216);
	assert_spec(res,
	            "{\"ivgen-alg\":\"plain64\",\"hash-alg\":\"sha256\",\"cipher-alg\":\"aes-256\","
	            "\"uuid\":\"f8de3a3b-c63c-4038-ab95-36afb0a96bc5\",\"cipher-mode\":\"xts\","
	            "\"slots\":[{\"active\":true,\"iters\":43343,\"key-offset\":4096,\"stripes\":4000},"
	            "{\"active\":false,\"key-offset\":262144},{\"active\":false,\"key-offset\":520192},"
	            "{\"active\":false,\"key-offset\":778240},{\"active\":false,\"key-offset\":1036288},"
	            "{\"active\":false,\"key-offset\":1294336},{\"active\":false,\"key-offset\":1552384},"
	            "{\"active\":false,\"key-offset\":1810432}],\"payload-offset\":2068480,"
	            "\"master-key-iters\":11075}");
	free(res);
}

static void test_essiv(void **state)
{
	struct img_result *res = probe_sparse("luks-essiv-8M", NULL);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_LUKS);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 6291456);
	assert_spec(res,
	            "{\"ivgen-alg\":\"essiv\",\"hash-alg\":\"sha1\",\"cipher-alg\":\"aes-256\","
	            "\"uuid\":\"71b4f651-5cef-4a92-93ff-3e843f026f23\",\"ivgen-hash-alg\":\"sha256\","
	            "\"cipher-mode\":\"cbc\",\"slots\":[{\"active\":true,\"iters\":1000,"
	            "\"key-offset\":4096,\"stripes\":4000},{\"active\":false,\"key-offset\":135168},"
	            "{\"active\":false,\"key-offset\":266240},{\"active\":false,\"key-offset\":397312},"
	            "{\"active\":false,\"key-offset\":528384},{\"active\":false,\"key-offset\":659456},"
	            "{\"active\":false,\"key-offset\":790528},{\"active\":false,\"key-offset\":921600}],"
	            "\"payload-offset\":2097152,\"master-key-iters\":1000}");
	free(res);
}

static void test_luks2_is_raw(void **state)
{
	struct img_result *res = probe_sparse("luks-luks2-32M", NULL);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_int_equal(res->encryption, IMG_ENC_NONE);
	free(res);
}

/* the cryptsetup fixture's head, padded to size bytes (payload at 2 MiB) */
static uint8_t *load_c1(size_t size)
{
	size_t len;
	uint8_t *h = t_fixture("luks-cryptsetup-luks1-32M.head", &len);
	uint8_t *b = calloc(1, size);

	assert_int_equal(len, 4096);
	assert_non_null(b);
	memcpy(b, h, size < len ? size : len);
	free(h);
	return b;
}

#define C1_SIZE (3u * 1024 * 1024)

static void put_str(uint8_t *p, const char *s)
{
	memset(p, 0, 32);
	memcpy(p, s, strlen(s));
}

/* cipher/mode/hash combinations, as qemu-img 7.2 names or refuses them */
static void test_algorithms(void **state)
{
	static const struct {
		const char *name, *mode, *hash;
		uint32_t key_bytes;
		const char *alg, *qmode, *ivgen, *ivhash, *qhash, *damaged;
	} t[] = {
		{ "serpent", "cbc-plain", "sha1", 16, "serpent-128", "cbc", "plain", NULL, "sha1", NULL },
		{ "twofish", "ecb-plain", "md5", 24, "twofish-192", "ecb", "plain", NULL, "md5", NULL },
		{ "cast5", "cbc-plain", "ripemd160", 16, "cast5-128", "cbc", "plain", NULL, "ripemd160", NULL },
		{ "aes", "ctr-plain", "sha224", 32, "aes-256", "ctr", "plain", NULL, "sha224", NULL },
		{ "aes", "xts-plain64", "sha512", 32, "aes-128", "xts", "plain64", NULL, "sha512", NULL },
		{ "aes", "cbc-essiv:md5", "sha1", 16, "aes-128", "cbc", "essiv", "md5", "sha1", NULL },
		{ "aes", "cbc-essiv:sha256", "sha384", 16, "aes-128", "cbc", "essiv", "sha256", "sha384", NULL },
		/* the hash after plain/plain64 is checked, then ignored */
		{ "aes", "cbc-plain:sha1", "sha1", 16, "aes-128", "cbc", "plain", NULL, "sha1", NULL },
		{ "cast5", "cbc-essiv:sha256", "sha1", 16, NULL, NULL, NULL, NULL, NULL,
		  "Cipher not supported with essiv" },
		{ "aes", "cbc-essiv:sha1", "sha384", 16, NULL, NULL, NULL, NULL, NULL,
		  "No cipher with this key size available for essiv" },
		{ "twofish", "cbc-essiv:sha512", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "No cipher with this key size available for essiv" },
		{ "sm4", "xts-plain64", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "Algorithm with this key size not supported" },
		{ "AES", "cbc-plain", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "Algorithm with this key size not supported" },
		{ "aes", "cbc-plain", "sha1", 20, NULL, NULL, NULL, NULL, NULL,
		  "Algorithm with this key size not supported" },
		{ "aes", "cbc-plain", "sha1", 0, NULL, NULL, NULL, NULL, NULL,
		  "Algorithm with this key size not supported" },
		{ "des", "cbc-plain", "sha1", 8, NULL, NULL, NULL, NULL, NULL,
		  "Algorithm with this key size not supported" },
		{ "aes", "cbc", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "Unexpected cipher mode string format" },
		{ "aes", "cbc-plain:bogus", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "Hash algorithm not supported" },
		{ "aes", "cbc-essiv:sha1:x", "sha1", 16, NULL, NULL, NULL, NULL, NULL,
		  "Hash algorithm not supported" },
		{ "aes", "cbc-essiv", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "Missing IV generator hash specification" },
		{ "aes", "cbc-benbi", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "IV generator not supported" },
		{ "aes", "cbc-plain-x", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "IV generator not supported" },
		{ "aes", "gcm-plain", "sha1", 32, NULL, NULL, NULL, NULL, NULL,
		  "Cipher mode not supported" },
		{ "aes", "cbc-plain", "SHA1", 32, NULL, NULL, NULL, NULL, NULL,
		  "Hash algorithm not supported" },
		{ "aes", "cbc-plain", "sha3-256", 32, NULL, NULL, NULL, NULL, NULL,
		  "Hash algorithm not supported" },
	};
	uint8_t *b = load_c1(C1_SIZE);

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		struct img_result *res = t_result_new();

		put_str(b + 8, t[i].name);
		put_str(b + 40, t[i].mode);
		put_str(b + 72, t[i].hash);
		t_put_be32(b + 108, t[i].key_bytes);
		assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
		assert_int_equal(res->format, IMG_FMT_LUKS);
		assert_int_equal(res->encryption, IMG_ENC_LUKS);
		assert_int_equal(res->virtual_size, C1_SIZE - 2097152);
		if (t[i].damaged) {
			assert_string_equal(res->damaged, t[i].damaged);
			assert_null(res->spec.type);
		} else {
			char want[2048];

			assert_null(res->damaged);
			snprintf(want, sizeof(want),
			         "{\"ivgen-alg\":\"%s\",\"hash-alg\":\"%s\",\"cipher-alg\":\"%s\","
			         "\"uuid\":\"b6281d0c-176d-4da8-931f-4d77922ff49d\",%s%s%s"
			         "\"cipher-mode\":\"%s\"," SLOTS_256K
			         ",\"payload-offset\":2097152,\"master-key-iters\":1000}",
			         t[i].ivgen, t[i].qhash, t[i].alg, t[i].ivhash ? "\"ivgen-hash-alg\":\"" : "",
			         t[i].ivhash ? t[i].ivhash : "", t[i].ivhash ? "\"," : "", t[i].qmode);
			assert_spec(res, want);
		}
		free(res);
	}
	free(b);
}

#define SLOT(i, f) (208 + 48 * (i) + (f))

/* header checks, in qemu's order; values measured with qemu-img 7.2 */
static void test_header_checks(void **state)
{
	static const struct {
		unsigned off;
		uint32_t v;
		const char *damaged;
	} t[] = {
		{ SLOT(0, 44), 3999, "Keyslot is corrupted (stripes != 4000)" },
		{ SLOT(7, 44), 0, "Keyslot is corrupted (stripes != 4000)" },
		{ SLOT(1, 0), 1, "Keyslot state (active/disable) is corrupted" },
		{ SLOT(1, 4), 0, NULL }, /* a disabled slot may have no iterations */
		{ SLOT(0, 4), 0, "Keyslot iteration count is zero" },
		{ SLOT(0, 40), 0, "Keyslot is overlapping with the LUKS header" },
		{ SLOT(0, 40), 7, "Keyslot is overlapping with the LUKS header" },
		{ SLOT(1, 40), 8, "Keyslots are overlapping in the header" },
		{ SLOT(7, 40), 3592, NULL },
		{ SLOT(7, 40), 3593, "Keyslot is overlapping with the encrypted payload" },
		/* qemu's 32-bit sum wraps: accepted */
		{ SLOT(7, 40), 0xffffff00u, NULL },
		{ SLOT(7, 40), 0xffffffffu, NULL },
		{ 104, 4000, "Keyslot is overlapping with the encrypted payload" },
		{ 104, 7, "LUKS payload is overlapping with the header" },
		{ 104, 0, "LUKS payload is overlapping with the header" },
		{ 104, 8, "Keyslot is overlapping with the encrypted payload" },
		{ 164, 0, "LUKS key iteration count is zero" },
		{ 108, 65, "Keyslots are overlapping in the header" },
		{ 108, 0x80000000u, "Algorithm with this key size not supported" },
	};
	uint8_t *b = load_c1(C1_SIZE);
	uint8_t orig[4096];

	(void)state;
	memcpy(orig, b, sizeof(orig));
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		struct img_result *res = t_result_new();

		memcpy(b, orig, sizeof(orig));
		t_put_be32(b + t[i].off, t[i].v);
		assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
		assert_int_equal(res->format, IMG_FMT_LUKS);
		if (t[i].damaged)
			assert_string_equal(res->damaged, t[i].damaged);
		else
			assert_null(res->damaged);
		free(res);
	}

	/* strings without NUL, checked first */
	for (unsigned off = 8; off <= 72; off += 32) {
		static const char *const why[] = { "LUKS header cipher name is not NUL terminated",
			                           "LUKS header cipher mode is not NUL terminated",
			                           "LUKS header hash spec is not NUL terminated" };
		struct img_result *res = t_result_new();

		memcpy(b, orig, sizeof(orig));
		memset(b + off, 'a', 32);
		t_put_be32(b + 104, 0);
		assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
		assert_string_equal(res->damaged, why[(off - 8) / 32]);
		free(res);
	}
	free(b);
}

static void test_uuid_and_sizes(void **state)
{
	uint8_t *b = load_c1(C1_SIZE);
	struct img_result *res = t_result_new();
	const struct img_spec_entry *e;

	(void)state;
	/* a uuid without NUL: all 40 bytes (g_strndup) */
	memset(b + 168, 'u', 40);
	assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
	assert_null(res->damaged);
	e = &res->spec.e[3];
	assert_string_equal(e->key, "uuid");
	assert_int_equal(e->v.str.len, 40);

	/* an empty uuid */
	memset(b + 168, 0, 40);
	assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
	assert_int_equal(res->spec.e[3].v.str.len, 0);

	/* payload exactly at the end: size 0 */
	t_put_be32(b + 104, C1_SIZE / 512);
	assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 0);

	/* payload past the end */
	t_put_be32(b + 104, C1_SIZE / 512 + 1);
	assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
	assert_int_equal(res->format, IMG_FMT_LUKS);
	assert_string_equal(res->damaged, "Could not refresh total sector count");
	assert_int_equal(res->virtual_size, 0);

	t_put_be32(b + 104, 0xffffffffu);
	assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
	assert_string_equal(res->damaged, "Could not refresh total sector count");

	/* versions other than 1 are not qemu's luks */
	t_put_be32(b + 104, 4096);
	t_put_be16(b + 6, 2);
	assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	t_put_be16(b + 6, 0);
	assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	t_put_be16(b + 6, 0x101);
	assert_int_equal(t_probe_copy(b, C1_SIZE, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(res);
	free(b);
}

/* short volumes: qemu reads a zero-padded header (measured messages) */
static void test_short(void **state)
{
	uint8_t *b = load_c1(4096);
	struct img_result *res = t_result_new();

	(void)state;
	assert_int_equal(t_probe_copy(b, 8, res), 0);
	assert_string_equal(res->damaged, "LUKS payload is overlapping with the header");
	assert_int_equal(t_probe_copy(b, 591, res), 0);
	assert_string_equal(res->damaged, "Keyslot is corrupted (stripes != 4000)");
	assert_int_equal(t_probe_copy(b, 592, res), 0);
	assert_string_equal(res->damaged, "Could not refresh total sector count");
	assert_int_equal(res->virtual_size, 0);
	assert_int_equal(t_probe_copy(b, 7, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	t_truncation_sweep(b, 4096);
	free(res);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cryptsetup_luks1), cmocka_unit_test(test_qemu_luks),
		cmocka_unit_test(test_essiv),            cmocka_unit_test(test_luks2_is_raw),
		cmocka_unit_test(test_algorithms),       cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_uuid_and_sizes),   cmocka_unit_test(test_short),
	};
	return T_RUN(tests);
}
