/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The machine dies mid-stream: every write not yet followed by an fsync is
 * lost (fault-vfs.c keeps them in a pretend page cache). Checkpoints may be
 * lost that way, but a reply reported finished, and a user's message
 * reported started, must be on disk exactly as they were shown. The plug is
 * pulled at a different moment in each run. */

#include <glib/gstdio.h>
#include <string.h>

#include "rill-test-server.h"
#include "rill-test-support.h"
#include "fault-vfs.h"

#define CHAT "/v1/chat/completions"
#define REPLIES 4

typedef struct
{
  RillReply *reply;
  gboolean   started;
  gboolean   finished;
  char      *content;   /* as shown when it finished */
  RillStatus status;
  gint64     message_id;
  gint64     user_message_id;
  guint      index;
} Turn;

static void
on_started (RillReply *reply, Turn *turn)
{
  if (fault_vfs_is_powered_off ())
    return;
  turn->started = TRUE;
  turn->message_id = rill_reply_get_message_id (reply);
  turn->user_message_id = rill_reply_get_user_message_id (reply);
}

/* In some runs the plug is pulled the moment a reply is shown finished:
 * the worst case for a reply's last write. */
static int plug_after_reply = -1;

static void
on_finished (RillReply *reply, Turn *turn)
{
  turn->finished = TRUE;
  /* Only what the person was told before the power went counts. */
  if (fault_vfs_is_powered_off ())
    return;
  if (rill_reply_get_status (reply) != RILL_STATUS_COMPLETE)
    g_test_message ("reply %u ended %s: %s", turn->index,
                    rill_status_to_string (rill_reply_get_status (reply)),
                    rill_reply_get_error (reply));
  turn->content = g_strdup (rill_reply_get_content (reply)->str);
  turn->status = rill_reply_get_status (reply);
  if ((int) turn->index == plug_after_reply)
    fault_vfs_power_off ();
}

static gboolean
power_off_cb (gpointer data)
{
  fault_vfs_power_off ();
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_once (guint run, guint plug_ms)
{
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *db = g_build_filename (dir, "history.db", NULL);
  g_autofree char *shm = g_strconcat (db, "-shm", NULL);
  g_autoptr(RillTestServer) server = rill_test_server_new ();
  g_autofree char *base = g_strconcat (rill_test_server_get_url (server), "/v1", NULL);
  g_autoptr(RillProvider) provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, NULL);
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *sse = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *integrity = NULL;
  Turn turns[REPLIES] = { 0 };
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  RillReplyOptions options;
  RillStore *store;
  gboolean plug_pulled = FALSE;
  guint plug_timer;
  gint64 conversation;
  guint n_finished_before = 0;

  for (guint i = 0; i < 120; i++)
    g_ptr_array_add (tokens, g_strdup_printf ("t%u-%u ", run, i));
  g_ptr_array_add (tokens, NULL);
  sse = rill_test_openai_sse ((const char * const *) tokens->pdata, NULL, TRUE);
  rill_test_script_pace (script, 1000);
  rill_test_script_send (script, sse, -1, 64);
  rill_test_server_route (server, CHAT, script);

  fault_vfs_install ();
  store = rill_store_open (db, &error);
  g_assert_no_error (error);
  conversation = test_create_conversation (store, "power");
  rill_reply_options_init (&options);
  options.model = g_strdup ("m");
  options.checkpoint_interval_ms = 50;

  plug_timer = g_timeout_add (plug_ms, power_off_cb, &plug_pulled);
  for (guint i = 0; i < REPLIES && !plug_pulled; i++)
    {
      g_autofree char *question = g_strdup_printf ("question %u of run %u", i, run);

      turns[i].index = i;
      turns[i].reply = rill_reply_new (store, provider, conversation, question, &options);
      g_signal_connect (turns[i].reply, "started", G_CALLBACK (on_started), &turns[i]);
      g_signal_connect (turns[i].reply, "finished", G_CALLBACK (on_finished), &turns[i]);
      rill_reply_start (turns[i].reply);
      while (!turns[i].finished && !plug_pulled)
        g_main_context_iteration (NULL, TRUE);
      if (fault_vfs_is_powered_off ())
        break;
    }
  if (!plug_pulled)
    {
      g_source_remove (plug_timer);
      fault_vfs_power_off ();
    }

  /* The app is gone: nothing more reaches the disk. */
  for (guint i = 0; i < REPLIES; i++)
    if (turns[i].reply != NULL)
      {
        rill_reply_stop (turns[i].reply);
        test_wait_for (&turns[i].finished, 20000, "the reply to end after the power cut");
      }
  g_assert_true (rill_store_sync (store, 10000));
  for (guint i = 0; i < REPLIES; i++)
    g_clear_object (&turns[i].reply);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_object_unref (store);
  rill_reply_options_clear (&options);
  fault_vfs_uninstall ();

  /* Boot again: the shared-memory index did not survive either. */
  g_unlink (shm);
  integrity = test_sql_text (db, "PRAGMA integrity_check");
  g_assert_cmpstr (integrity, ==, "ok");
  store = rill_store_open (db, &error);
  g_assert_no_error (error);

  if (plug_after_reply >= 0)
    g_assert_nonnull (turns[plug_after_reply].content);
  for (guint i = 0; i < REPLIES; i++)
    {
      Turn *turn = &turns[i];

      if (turn->content != NULL)
        {
          g_autoptr(RillMessage) message = rill_store_get_message (store, turn->message_id, &error);

          g_assert_no_error (error);
          n_finished_before++;
          if (g_strcmp0 (rill_message_get_content (message), turn->content) != 0)
            g_error ("run %u: reply %u was shown finished but its text was lost "
                     "(stored %s, %zu bytes: “%.40s”)",
                     run, i, rill_status_to_string (rill_message_get_status (message)),
                     strlen (rill_message_get_content (message)),
                     rill_message_get_content (message));
          g_assert_cmpint (rill_message_get_status (message), ==, turn->status);
        }
      if (turn->started)
        {
          /* The user's message was committed durably before the request. */
          g_autoptr(RillMessage) question = rill_store_get_message (store, turn->user_message_id,
                                                                    &error);
          g_autoptr(RillMessage) answer = NULL;

          g_assert_no_error (error);
          g_assert_true (g_str_has_prefix (rill_message_get_content (question), "question "));
          answer = rill_store_get_message (store, turn->message_id, &error);
          g_assert_no_error (error);
          g_assert_cmpint (rill_message_get_status (answer), !=, RILL_STATUS_STREAMING);
          g_free (turn->content);
        }
    }
  if (plug_after_reply >= 0)
    g_test_message ("run %u: plug pulled as reply %d was shown finished; "
                    "%u finished replies survived",
                    run, plug_after_reply, n_finished_before);
  else
    g_test_message ("run %u: plug pulled at %u ms; %u finished replies survived",
                    run, plug_ms, n_finished_before);
  g_assert_true (rill_store_sync (store, 10000));
  g_assert_finalize_object (store);
  test_rm_rf (dir);
}

static void
test_power_loss (void)
{
  guint runs = g_getenv ("RILL_POWERLOSS_RUNS") ? atoi (g_getenv ("RILL_POWERLOSS_RUNS")) : 24;

  /* Spread the cut over the whole life of four replies (~370 ms each). */
  for (guint run = 0; run < runs; run++)
    {
      plug_after_reply = run % 2 ? (int) ((run / 2) % REPLIES) : -1;
      run_once (run, plug_after_reply >= 0 ? 60000 : 10 + run * 1500 / MAX (runs, 1));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/faults/power-loss", test_power_loss);
  return g_test_run ();
}
