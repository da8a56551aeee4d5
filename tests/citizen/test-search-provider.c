/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The GNOME Shell search provider over a real bus: a private dbus-daemon
 * (GTestDBus), the provider exported where the installed .ini file says,
 * and the Shell's side played by a GDBusProxy on a second connection.
 *
 * The store has no public API to add messages (replies are written by the
 * reply machinery), so the test writes rows with SQLite directly, the way
 * a finished reply leaves them; the store's triggers index them. */

#include <sqlite3.h>
#include <string.h>

#include "rill-search-provider.h"
#include "rill-store.h"
#include "rill-test-support.h"

typedef struct
{
  char               *dir;
  RillStore          *store;
  GTestDBus          *bus;
  GDBusConnection    *server;
  GDBusConnection    *client;
  RillSearchProvider *provider;
  GDBusProxy         *proxy;

  gint64 travel, rust, untitled;      /* conversations */
  gint64 travel_q, travel_a, rust_q, rust_a, untitled_q, long_a;  /* messages */

  gint64  activated_conversation, activated_message;
  guint32 activated_timestamp;
  char  **launched_terms;
  guint32 launched_timestamp;
} Fixture;

static gint64
add_message (sqlite3 *db, gint64 conversation_id, const char *role, const char *content)
{
  static gint64 created_at = 1700000000000;
  sqlite3_stmt *stmt;

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "INSERT INTO messages"
                                       " (conversation_id, role, content, status, created_at)"
                                       " VALUES (?, ?, ?, 'complete', ?)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, conversation_id);
  sqlite3_bind_text (stmt, 2, role, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, content, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, created_at += 1000);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  return sqlite3_last_insert_rowid (db);
}

static void
activate_message_cb (RillSearchProvider *provider,
                     gint64              conversation_id,
                     gint64              message_id,
                     guint32             timestamp,
                     Fixture            *f)
{
  f->activated_conversation = conversation_id;
  f->activated_message = message_id;
  f->activated_timestamp = timestamp;
}

static void
launch_search_cb (RillSearchProvider  *provider,
                  char               **terms,
                  guint32              timestamp,
                  Fixture             *f)
{
  g_strfreev (f->launched_terms);
  f->launched_terms = g_strdupv (terms);
  f->launched_timestamp = timestamp;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) ini = g_key_file_new ();
  g_autofree char *ini_path = NULL;
  g_autofree char *db_path = NULL;
  g_autofree char *bus_name = NULL;
  g_autofree char *object_path = NULL;
  g_autofree char *long_text = NULL;
  g_autoptr(GVariant) reply = NULL;
  sqlite3 *db;
  GDBusConnectionFlags flags = G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                               G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION;

  f->dir = test_make_tmpdir ();
  db_path = g_build_filename (f->dir, "rill", "history.db", NULL);
  f->store = rill_store_open (db_path, &error);
  g_assert_no_error (error);

  f->travel = test_create_conversation (f->store, "杭州旅行计划");
  f->rust = test_create_conversation (f->store, "Rust lifetimes");
  f->untitled = test_create_conversation (f->store, NULL);

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  f->travel_q = add_message (db, f->travel, "user", "我想去杭州西湖看看，有什么建议？");
  f->travel_a = add_message (db, f->travel, "assistant",
                             "西湖的断桥在春天最美。\n\n早上可以沿着苏堤散步，下午去灵隐寺。");
  f->rust_q = add_message (db, f->rust, "user", "How do lifetimes work in Rust?");
  f->rust_a = add_message (db, f->rust, "assistant",
                           "Lifetimes make sure that references are always VALID in Rust.");
  f->untitled_q = add_message (db, f->untitled, "user", "杭州 weather tomorrow");
  long_text = g_strconcat ("Background. ",
                           "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
                           "Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ",
                           "The needle is here, ",
                           "and then the text goes on and on for a long while "
                           "so that the snippet has to be cut at both of its ends.",
                           NULL);
  f->long_a = add_message (db, f->untitled, "assistant", long_text);
  sqlite3_close (db);

  /* Export where the installed .ini file tells the Shell to look, from the
   * application's object path as GApplication's dbus_register gives it. */
  ini_path = g_test_build_filename (G_TEST_DIST, "..", "..", "data",
                                    "io.github.rill.Rill.search-provider.ini", NULL);
  g_key_file_load_from_file (ini, ini_path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  bus_name = g_key_file_get_string (ini, "Shell Search Provider", "BusName", &error);
  g_assert_no_error (error);
  object_path = g_key_file_get_string (ini, "Shell Search Provider", "ObjectPath", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_key_file_get_integer (ini, "Shell Search Provider", "Version", NULL), ==, 2);
  g_assert_cmpstr (bus_name, ==, "io.github.rill.Rill");

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->server = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (f->bus),
                                                      flags,
                                                      NULL, NULL, &error);
  g_assert_no_error (error);
  f->client = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (f->bus),
                                                      flags,
                                                      NULL, NULL, &error);
  g_assert_no_error (error);

  reply = g_dbus_connection_call_sync (f->server, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", bus_name, 0), G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);

  f->provider = rill_search_provider_new (f->store);
  g_signal_connect (f->provider, "activate-message", G_CALLBACK (activate_message_cb), f);
  g_signal_connect (f->provider, "launch-search", G_CALLBACK (launch_search_cb), f);
  g_assert_true (rill_search_provider_export (f->provider, f->server, "/io/github/rill/Rill",
                                              &error));
  g_assert_no_error (error);

  /* Only talks to the bus daemon, so a synchronous call cannot wait on our
   * own main loop. */
  f->proxy = g_dbus_proxy_new_sync (f->client,
                                    G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                    G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS |
                                    G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                    NULL, bus_name, object_path,
                                    "org.gnome.Shell.SearchProvider2", NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autoptr(GFile) dir = NULL;

  g_clear_object (&f->proxy);
  rill_search_provider_unexport (f->provider);
  g_assert_finalize_object (f->provider);
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_dbus_connection_close_sync (f->server, NULL, NULL);
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
  g_assert_finalize_object (f->store);
  g_strfreev (f->launched_terms);
  test_rm_rf (f->dir);
  g_free (f->dir);
}

/* The Shell's calls are asynchronous, as here: the provider answers from
 * this same main context. */
static GVariant *
call (Fixture *f, const char *method, GVariant *parameters, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_proxy_call (f->proxy, method, parameters, G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                     test_async_result_cb, &result);
  test_wait_result (&result, 10000, method);
  return g_dbus_proxy_call_finish (f->proxy, result, error);
}

static char *
id_string (gint64 id)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, id);
}

/* The result ids, space-separated, for one comparison per search. */
static char *
search (Fixture *f, const char * const *terms)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree const char **ids = NULL;

  reply = call (f, "GetInitialResultSet", g_variant_new ("(^as)", terms), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(^a&s)", &ids);
  return g_strjoinv (" ", (char **) ids);
}

static char *
expect (gint64 first, ...)
{
  g_autoptr(GString) s = g_string_new (NULL);
  va_list args;

  va_start (args, first);
  for (gint64 id = first; id != 0; id = va_arg (args, gint64))
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, s->len ? " " : "", id);
  va_end (args);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

#define assert_search(f, terms, ...) \
  G_STMT_START { \
    g_autofree char *got_ = search ((f), (terms)); \
    g_autofree char *want_ = expect (__VA_ARGS__, (gint64) 0); \
    g_assert_cmpstr (got_, ==, want_); \
  } G_STMT_END

static void
test_initial (Fixture *f, gconstpointer data)
{
  /* Chinese without word breaks; a conversation appears once, through its
   * newest matching message. */
  assert_search (f, ((const char *[]) { "西湖", NULL }), f->travel_a);
  assert_search (f, ((const char *[]) { "杭州", NULL }), f->untitled_q, f->travel_q);
  assert_search (f, ((const char *[]) { "断", NULL }), f->travel_a);
  /* English, case-insensitively, every term in one message. */
  assert_search (f, ((const char *[]) { "LIFETIMES", NULL }), f->rust_a);
  assert_search (f, ((const char *[]) { "rust", "valid", NULL }), f->rust_a);
  assert_search (f, ((const char *[]) { "how", "rust", NULL }), f->rust_q);
  assert_search (f, ((const char *[]) { "needle", NULL }), f->long_a);

  {
    g_autofree char *none = search (f, (const char *[]) { "nowhere-to-be-found", NULL });
    g_autofree char *empty = search (f, (const char *[]) { NULL });

    g_assert_cmpstr (none, ==, "");
    g_assert_cmpstr (empty, ==, "");
  }
}

static void
test_subsearch (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree const char **ids = NULL;
  g_autofree char *a = id_string (f->travel_q);
  g_autofree char *b = id_string (f->untitled_q);
  g_autofree char *want = id_string (f->travel_q);
  const char *previous[] = { b, a, NULL };
  const char *terms[] = { "杭州", "西湖", NULL };

  reply = call (f, "GetSubsearchResultSet", g_variant_new ("(^as^as)", previous, terms), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(^a&s)", &ids);
  g_assert_cmpuint (g_strv_length ((char **) ids), ==, 1);
  g_assert_cmpstr (ids[0], ==, want);
}

static GVariantDict *
find_meta (GVariant *metas, const char *id)
{
  GVariantIter iter;
  GVariant *meta;

  g_variant_iter_init (&iter, metas);
  while ((meta = g_variant_iter_next_value (&iter)))
    {
      GVariantDict *dict = g_variant_dict_new (meta);
      const char *meta_id = NULL;

      g_variant_unref (meta);
      if (g_variant_dict_lookup (dict, "id", "&s", &meta_id) && g_str_equal (meta_id, id))
        return dict;
      g_variant_dict_unref (dict);
    }
  return NULL;
}

static void
test_metas (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) metas = NULL;
  g_autoptr(GVariantDict) travel = NULL;
  g_autoptr(GVariantDict) untitled = NULL;
  g_autoptr(GVariantDict) long_meta = NULL;
  g_autofree char *travel_id = id_string (f->travel_a);
  g_autofree char *untitled_id = id_string (f->untitled_q);
  g_autofree char *long_id = id_string (f->long_a);
  g_autofree char *results = NULL;
  const char *ids[] = { travel_id, "not-a-message", untitled_id, "999999", NULL };
  const char *long_ids[] = { long_id, NULL };
  const char *name, *description;
  g_autoptr(GVariant) icon = NULL;

  /* The snippets are cut around the last search's terms. */
  results = search (f, (const char *[]) { "断桥", NULL });

  reply = call (f, "GetResultMetas", g_variant_new ("(^as)", ids), &error);
  g_assert_no_error (error);
  metas = g_variant_get_child_value (reply, 0);
  /* Unknown ids are left out, the others answered. */
  g_assert_cmpuint (g_variant_n_children (metas), ==, 2);

  travel = find_meta (metas, travel_id);
  g_assert_nonnull (travel);
  g_assert_true (g_variant_dict_lookup (travel, "name", "&s", &name));
  g_assert_cmpstr (name, ==, "杭州旅行计划");
  g_assert_true (g_variant_dict_lookup (travel, "description", "&s", &description));
  /* One line: the paragraph break collapses to a space. */
  g_assert_cmpstr (description, ==, "西湖的断桥在春天最美。 早上可以沿着苏堤散步，下午去灵隐寺。");
  icon = g_variant_dict_lookup_value (travel, "icon", NULL);
  g_assert_nonnull (icon);

  untitled = find_meta (metas, untitled_id);
  g_assert_nonnull (untitled);
  g_assert_true (g_variant_dict_lookup (untitled, "name", "&s", &name));
  g_assert_cmpstr (name, ==, "Untitled Conversation");

  /* A long message is cut around the match. */
  g_clear_pointer (&results, g_free);
  results = search (f, (const char *[]) { "NEEDLE", NULL });
  g_clear_pointer (&reply, g_variant_unref);
  g_clear_pointer (&metas, g_variant_unref);
  reply = call (f, "GetResultMetas", g_variant_new ("(^as)", long_ids), &error);
  g_assert_no_error (error);
  metas = g_variant_get_child_value (reply, 0);
  long_meta = find_meta (metas, long_id);
  g_assert_nonnull (long_meta);
  g_assert_true (g_variant_dict_lookup (long_meta, "description", "&s", &description));
  g_assert_true (g_str_has_prefix (description, "…"));
  g_assert_true (g_str_has_suffix (description, "…"));
  g_assert_nonnull (strstr (description, "The needle is here"));
  g_assert_cmpint (g_utf8_strlen (description, -1), <=, 122);
}

static void
test_activate (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) bad = NULL;
  g_autofree char *id = id_string (f->travel_a);
  const char *terms[] = { "西湖", NULL };

  reply = call (f, "ActivateResult", g_variant_new ("(s^asu)", id, terms, 4242), &error);
  g_assert_no_error (error);
  g_assert_cmpint (f->activated_conversation, ==, f->travel);
  g_assert_cmpint (f->activated_message, ==, f->travel_a);
  g_assert_cmpuint (f->activated_timestamp, ==, 4242);

  /* A message deleted since the search: an error, and no signal. */
  f->activated_message = 0;
  bad = call (f, "ActivateResult", g_variant_new ("(s^asu)", "999999", terms, 1), &error);
  g_assert_null (bad);
  g_assert_nonnull (error);
  g_assert_cmpint (f->activated_message, ==, 0);
}

static void
test_launch_search (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  const char *terms[] = { "杭州", "weather", NULL };

  reply = call (f, "LaunchSearch", g_variant_new ("(^asu)", terms, 77), &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->launched_terms);
  g_assert_cmpstrv (f->launched_terms, terms);
  g_assert_cmpuint (f->launched_timestamp, ==, 77);
}

/* Exported before the history is open (GApplication's dbus_register comes
 * first): a search waits for the store, then finds. */
static void
test_waits_for_store (Fixture *f, gconstpointer data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) launched = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **ids = NULL;
  const char *terms[] = { "西湖", NULL };
  g_autofree char *want = id_string (f->travel_a);

  rill_search_provider_set_store (f->provider, NULL);
  g_dbus_proxy_call (f->proxy, "GetInitialResultSet", g_variant_new ("(^as)", terms),
                     G_DBUS_CALL_FLAGS_NONE, 5000, NULL, test_async_result_cb, &result);
  /* Calls arrive in order: once this one is answered, the search is in. */
  launched = call (f, "LaunchSearch", g_variant_new ("(^asu)", terms, 1), &error);
  g_assert_no_error (error);
  g_assert_null (result);

  rill_search_provider_set_store (f->provider, f->store);
  test_wait_result (&result, 10000, "the search that waited");
  reply = g_dbus_proxy_call_finish (f->proxy, result, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(^a&s)", &ids);
  g_assert_cmpuint (g_strv_length ((char **) ids), ==, 1);
  g_assert_cmpstr (ids[0], ==, want);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/search-provider/initial", Fixture, NULL,
              fixture_set_up, test_initial, fixture_tear_down);
  g_test_add ("/search-provider/subsearch", Fixture, NULL,
              fixture_set_up, test_subsearch, fixture_tear_down);
  g_test_add ("/search-provider/metas", Fixture, NULL,
              fixture_set_up, test_metas, fixture_tear_down);
  g_test_add ("/search-provider/activate", Fixture, NULL,
              fixture_set_up, test_activate, fixture_tear_down);
  g_test_add ("/search-provider/launch-search", Fixture, NULL,
              fixture_set_up, test_launch_search, fixture_tear_down);
  g_test_add ("/search-provider/waits-for-store", Fixture, NULL,
              fixture_set_up, test_waits_for_store, fixture_tear_down);

  return g_test_run ();
}
