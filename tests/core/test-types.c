/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The words and codes of rill-types.h: every enum value to its word and
 * back, the words written as the database and GSettings hold them, what an
 * unknown word reads as, and the error codes of HTTP statuses. */

#include <sqlite3.h>
#include <string.h>

#include "rill-test-support.h"

/* The contract, spelled out here and not taken from the enums: these are
 * the words in history.db and in the "servers" setting. */
static const char * const status_words[] = {
  [RILL_STATUS_STREAMING] = "streaming",
  [RILL_STATUS_COMPLETE] = "complete",
  [RILL_STATUS_STOPPED] = "stopped",
  [RILL_STATUS_FAILED] = "failed",
  [RILL_STATUS_INTERRUPTED] = "interrupted",
  [RILL_STATUS_DENIED] = "denied",
};

static const char * const role_words[] = {
  [RILL_ROLE_SYSTEM] = "system",
  [RILL_ROLE_USER] = "user",
  [RILL_ROLE_ASSISTANT] = "assistant",
  [RILL_ROLE_TOOL] = "tool",
};

static const char * const provider_words[] = {
  [RILL_PROVIDER_OPENAI] = "openai",
  [RILL_PROVIDER_OLLAMA] = "ollama",
};

/* Every value of @type has its word as nick, in order. */
static void
check_nicks (GType type, const char * const *words, guint n_words)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);

  g_assert_cmpuint (klass->n_values, ==, n_words);
  for (guint i = 0; i < klass->n_values; i++)
    {
      g_assert_cmpint (klass->values[i].value, ==, i);
      g_assert_cmpstr (klass->values[i].value_nick, ==, words[i]);
    }
}

static void
test_status_words (void)
{
  check_nicks (RILL_TYPE_STATUS, status_words, G_N_ELEMENTS (status_words));
  for (RillStatus s = 0; s < G_N_ELEMENTS (status_words); s++)
    {
      g_assert_cmpstr (rill_status_to_string (s), ==, status_words[s]);
      g_assert_cmpint (rill_status_from_string (status_words[s]), ==, s);
    }
}

static void
test_role_words (void)
{
  check_nicks (RILL_TYPE_ROLE, role_words, G_N_ELEMENTS (role_words));
  for (RillRole r = 0; r < G_N_ELEMENTS (role_words); r++)
    {
      g_assert_cmpstr (rill_role_to_string (r), ==, role_words[r]);
      g_assert_cmpint (rill_role_from_string (role_words[r]), ==, r);
    }
}

static void
test_provider_words (void)
{
  check_nicks (RILL_TYPE_PROVIDER_KIND, provider_words, G_N_ELEMENTS (provider_words));
  for (RillProviderKind k = 0; k < G_N_ELEMENTS (provider_words); k++)
    {
      g_assert_cmpstr (rill_provider_kind_to_string (k), ==, provider_words[k]);
      g_assert_cmpint (rill_provider_kind_from_string (provider_words[k]), ==, k);
    }
}

static void
test_unknown_words (void)
{
  /* Not a status, not the same case, not trimmed, nothing at all. */
  const char * const unknown[] = { "bogus", "Failed", "COMPLETE", " complete", "complete ",
                                   "", "RILL_STATUS_COMPLETE", "0", NULL };

  for (guint i = 0; unknown[i]; i++)
    {
      g_assert_cmpint (rill_status_from_string (unknown[i]), ==, RILL_STATUS_FAILED);
      g_assert_cmpint (rill_role_from_string (unknown[i]), ==, RILL_ROLE_USER);
      g_assert_cmpint (rill_provider_kind_from_string (unknown[i]), ==, RILL_PROVIDER_OPENAI);
    }
  g_assert_cmpint (rill_status_from_string (NULL), ==, RILL_STATUS_FAILED);
  g_assert_cmpint (rill_role_from_string (NULL), ==, RILL_ROLE_USER);
  g_assert_cmpint (rill_provider_kind_from_string (NULL), ==, RILL_PROVIDER_OPENAI);
}

static void
test_unknown_values (void)
{
  /* A value out of range is a programming error, and still gives a word
   * the database accepts. */
  g_test_expect_message ("rill-core", G_LOG_LEVEL_CRITICAL, "*value != NULL*");
  g_assert_cmpstr (rill_status_to_string ((RillStatus) 99), ==, "failed");
  g_test_expect_message ("rill-core", G_LOG_LEVEL_CRITICAL, "*value != NULL*");
  g_assert_cmpstr (rill_role_to_string ((RillRole) -1), ==, "user");
  g_test_expect_message ("rill-core", G_LOG_LEVEL_CRITICAL, "*value != NULL*");
  g_assert_cmpstr (rill_provider_kind_to_string ((RillProviderKind) 2), ==, "openai");
  g_test_assert_expected_messages ();
}

static void
insert_message (const char *db_path, gint64 conversation_id, const char *role, const char *status)
{
  sqlite3 *db = NULL;
  char *sql;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  sql = sqlite3_mprintf ("INSERT INTO messages "
                         "(conversation_id, role, content, status, created_at) "
                         "VALUES (%lld, %Q, %Q, %Q, 1)",
                         (long long) conversation_id, role, status, status);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  sqlite3_free (sql);
  sqlite3_close (db);
}

/* Each word, written into a real history file by another connection, as
 * the schema accepts it, is read back by the store as its value, and the
 * message's "status" and "role" properties hold the enum. */
static void
test_stored_words (void)
{
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *db_path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = rill_store_open (db_path, &error);
  g_autoptr(GPtrArray) messages = NULL;
  gint64 conversation_id;
  guint n = 0;

  g_assert_no_error (error);
  conversation_id = test_create_conversation (store, "words");
  for (guint s = 0; s < G_N_ELEMENTS (status_words); s++)
    for (guint r = 0; r < G_N_ELEMENTS (role_words); r++)
      insert_message (db_path, conversation_id, rill_role_to_string (r), rill_status_to_string (s));

  messages = rill_store_list_messages (store, conversation_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, G_N_ELEMENTS (status_words) * G_N_ELEMENTS (role_words));
  for (guint s = 0; s < G_N_ELEMENTS (status_words); s++)
    for (guint r = 0; r < G_N_ELEMENTS (role_words); r++)
      {
        RillMessage *message = g_ptr_array_index (messages, n++);
        RillStatus status;
        RillRole role;

        g_assert_cmpstr (rill_message_get_content (message), ==, status_words[s]);
        g_assert_cmpint (rill_message_get_status (message), ==, s);
        g_assert_cmpint (rill_message_get_role (message), ==, r);
        g_object_get (message, "status", &status, "role", &role, NULL);
        g_assert_cmpint (status, ==, s);
        g_assert_cmpint (role, ==, r);
      }
  {
    GObjectClass *klass = G_OBJECT_GET_CLASS (g_ptr_array_index (messages, 0));

    g_assert_true (G_PARAM_SPEC_VALUE_TYPE (g_object_class_find_property (klass, "status")) ==
                   RILL_TYPE_STATUS);
    g_assert_true (G_PARAM_SPEC_VALUE_TYPE (g_object_class_find_property (klass, "role")) ==
                   RILL_TYPE_ROLE);
  }

  g_clear_pointer (&messages, g_ptr_array_unref);
  g_assert_true (rill_store_sync (store, 10000));
  g_assert_finalize_object (g_steal_pointer (&store));
  test_rm_rf (dir);
}

static void
test_describe (void)
{
  /* Tests run untranslated: the English words. */
  g_assert_cmpstr (rill_status_describe (RILL_STATUS_STOPPED), ==, "Stopped");
  g_assert_cmpstr (rill_status_describe (RILL_STATUS_FAILED), ==, "Failed");
  g_assert_cmpstr (rill_status_describe (RILL_STATUS_INTERRUPTED), ==, "Interrupted");
  g_assert_null (rill_status_describe (RILL_STATUS_STREAMING));
  g_assert_null (rill_status_describe (RILL_STATUS_COMPLETE));

  g_assert_cmpstr (rill_status_describe_inline (RILL_STATUS_STOPPED), ==, "stopped");
  g_assert_cmpstr (rill_status_describe_inline (RILL_STATUS_FAILED), ==, "failed");
  g_assert_cmpstr (rill_status_describe_inline (RILL_STATUS_INTERRUPTED), ==, "interrupted");
  g_assert_cmpstr (rill_status_describe_inline (RILL_STATUS_STREAMING), ==, "streaming");
  g_assert_null (rill_status_describe_inline (RILL_STATUS_COMPLETE));
}

static void
test_error_codes (void)
{
  static const struct { guint status; RillError code; } statuses[] = {
    { 401, RILL_ERROR_UNAUTHORIZED }, { 403, RILL_ERROR_UNAUTHORIZED },
    { 429, RILL_ERROR_RATE_LIMITED },
    { 500, RILL_ERROR_SERVER_ERROR }, { 502, RILL_ERROR_SERVER_ERROR },
    { 503, RILL_ERROR_SERVER_ERROR }, { 529, RILL_ERROR_SERVER_ERROR },
    { 599, RILL_ERROR_SERVER_ERROR },
    { 302, RILL_ERROR_HTTP }, { 400, RILL_ERROR_HTTP }, { 402, RILL_ERROR_HTTP },
    { 404, RILL_ERROR_HTTP }, { 413, RILL_ERROR_HTTP }, { 499, RILL_ERROR_HTTP },
    { 600, RILL_ERROR_HTTP },
  };
  g_autoptr(GEnumClass) klass = g_type_class_ref (RILL_TYPE_ERROR);
  g_autoptr(GError) error = g_error_new_literal (RILL_ERROR, RILL_ERROR_TIMEOUT, "late");

  g_assert_cmpstr (g_quark_to_string (RILL_ERROR), ==, "rill-error-quark");
  g_assert_error (error, RILL_ERROR, RILL_ERROR_TIMEOUT);
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (rill_error_from_http_status (statuses[i].status) != statuses[i].code)
      g_error ("HTTP %u is %s, not %s", statuses[i].status,
               g_enum_get_value (klass,
                                 rill_error_from_http_status (statuses[i].status))->value_nick,
               g_enum_get_value (klass, statuses[i].code)->value_nick);

  /* Every code has a name and a nick, and the nicks tell them apart. */
  for (guint i = 0; i < klass->n_values; i++)
    {
      GEnumValue *value = &klass->values[i];

      g_assert_cmpint (value->value, ==, i);
      g_assert_true (g_str_has_prefix (value->value_name, "RILL_ERROR_"));
      g_assert_cmpint (g_enum_get_value_by_nick (klass, value->value_nick)->value,
                       ==, value->value);
    }
  g_assert_cmpint (klass->n_values, ==, RILL_ERROR_NO_SERVER + 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/types/status-words", test_status_words);
  g_test_add_func ("/types/role-words", test_role_words);
  g_test_add_func ("/types/provider-words", test_provider_words);
  g_test_add_func ("/types/unknown-words", test_unknown_words);
  g_test_add_func ("/types/unknown-values", test_unknown_values);
  g_test_add_func ("/types/stored-words", test_stored_words);
  g_test_add_func ("/types/describe", test_describe);
  g_test_add_func ("/types/error-codes", test_error_codes);

  return g_test_run ();
}
