/* fuzz_spool: spool_entry_parse, the journal entry reader. Entries are our
 * own files, but a crash mid-write, a full disk or an operator's edit can
 * leave anything in SPOOL_DIR, and replay must neither crash nor POST
 * somewhere else. Contract checked: a parsed entry has a dashboard path
 * (spool_path_ok), a visible-ASCII key and a JSON object body; encode then
 * parse gives the same entry; a refused entry comes back zeroed. */
#include "fuzz.h"

#include <errno.h>
#include <jansson.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	spool_entry e, e2;
	char *text = NULL;
	json_t *body;
	int r;

	r = spool_entry_parse((const char *)data, size, &e);
	FZ_CHECK(r == 0 || r == -EBADMSG);
	if (r) {
		FZ_CHECK(!e.kind && !e.path && !e.key && !e.call_sid && !e.body);
		return 0;
	}
	FZ_CHECK(e.kind && *e.kind && e.path && e.key && e.call_sid && e.body);
	FZ_CHECK(spool_path_ok(e.path));
	for (const char *k = e.key; *k; k++)
		FZ_CHECK(*k > 0x20 && *k < 0x7f);
	body = json_loads(e.body, 0, NULL);
	FZ_CHECK(json_is_object(body));
	json_decref(body);

	FZ_CHECK(spool_entry_encode(&e, &text) == 0);
	FZ_CHECK(spool_entry_parse(text, strlen(text), &e2) == 0);
	FZ_CHECK(!strcmp(e.kind, e2.kind) && !strcmp(e.path, e2.path) && !strcmp(e.key, e2.key) &&
		 !strcmp(e.call_sid, e2.call_sid) && !strcmp(e.body, e2.body) &&
		 e.created_ms == e2.created_ms);
	free(text);
	spool_entry_clear(&e);
	spool_entry_clear(&e2);
	return 0;
}
