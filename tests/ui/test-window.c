/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-window.c: the real window, against a real HTTP server on 127.0.0.1.
 *
 * Each scenario runs in its own process (see meson.build) with its own
 * XDG_DATA_HOME, so the database is the real file the app uses. Nothing
 * sleeps: the tests iterate the main context until what they wait for holds,
 * and fail after a generous timeout. They assert what is on screen and what
 * is in the database, not only that nothing crashed. */

#include <cairo-pdf.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "rill-application.h"
#include "rill-test-server.h"
#include "rill-test-support.h"
#include "rill-attachment-chip.h"
#include "rill-block-column.h"
#include "rill-model-picker.h"
#include "rill-preferences-window.h"
#include "rill-presets-page.h"
#include "rill-composer-private.h"
#include "rill-conversation-view-private.h"
#include "rill-message-row-private.h"
#include "rill-sidebar-private.h"
#include "rill-store-private.h"
#include "rill-tool-card.h"
#include "rill-window-private.h"

#define CHAT "/v1/chat/completions"
#define TIMEOUT_S 20

typedef struct
{
  char            *data_home;
  RillTestServer  *server;
  RillApplication *app;
  RillWindow      *window;
} Fixture;

static Fixture fx;

/* Waiting: the main context turns until the condition holds, with a
 * deadline that fails the test (rill-test-support). */

static void
wait_until (TestCondition  condition,
            gpointer       data,
            const char    *what)
{
  test_wait_until (condition, data, TIMEOUT_S * 1000, what);
}

static gboolean
has_no_reply (gpointer data)
{
  return rill_conversation_view_get_reply (fx.window->conversation_view) == NULL &&
         !fx.window->creating;
}

static gboolean
last_row_done (gpointer data)
{
  RillMessageRow *row = rill_conversation_view_get_last_row (fx.window->conversation_view,
                                                             RILL_ROLE_ASSISTANT);

  return row != NULL && rill_message_row_get_reply (row) == NULL &&
         rill_message_row_get_status (row) != RILL_STATUS_STREAMING;
}

static gboolean
has_reply (gpointer data)
{
  return rill_conversation_view_get_reply (fx.window->conversation_view) != NULL;
}

static gboolean
bytes_sent_at_least (gpointer data)
{
  return rill_test_server_get_bytes_sent (fx.server, CHAT) >= GPOINTER_TO_SIZE (data);
}

static gboolean
row_shows_text (gpointer data)
{
  RillMessageRow *row = rill_conversation_view_get_last_row (fx.window->conversation_view,
                                                             RILL_ROLE_ASSISTANT);
  g_autofree char *shown = row ? _rill_message_row_dup_shown_text (row) : NULL;

  return shown != NULL && g_str_has_prefix (shown, data);
}

/* Streams */

static char *
sse_token (const char *token)
{
  g_autoptr(GString) escaped = g_string_new (NULL);

  for (const char *p = token; *p; p++)
    if (*p == '"' || *p == '\\')
      g_string_append_printf (escaped, "\\%c", *p);
    else if (*p == '\n')
      g_string_append (escaped, "\\n");
    else
      g_string_append_c (escaped, *p);
  return g_strdup_printf ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
                          "\"model\":\"test-model\","
                          "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
                          "\"finish_reason\":null}]}\n\n",
                          escaped->str);
}

static void
route_models (void)
{
  RillTestScript *models = rill_test_script_new (200, "application/json");
  const char *body =
    "{\"object\":\"list\",\"data\":[{\"id\":\"test-model\",\"object\":\"model\"}]}";

  rill_test_script_send (models, body, -1, 0);
  rill_test_server_route (fx.server, "/v1/models", models);
}

static void
route_tokens (const char * const *tokens,
              gsize               piece)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autofree char *sse = rill_test_openai_sse (tokens, "test-model", TRUE);

  rill_test_script_send (script, sse, -1, piece);
  rill_test_server_route (fx.server, CHAT, script);
}

/* Sends "Hello" and "world" as tokens, then waits at gate "rest" forever
 * (until opened), then finishes. Returns the bytes before the gate. */
static gsize
route_gated (void)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autofree char *a = sse_token ("Hello");
  g_autofree char *b = sse_token (" world");
  g_autofree char *c = sse_token (" and the rest");

  rill_test_script_send (script, a, -1, 0);
  rill_test_script_send (script, b, -1, 0);
  rill_test_script_gate (script, "rest");
  rill_test_script_send (script, c, -1, 0);
  rill_test_script_send (script, "data: [DONE]\n\n", -1, 0);
  rill_test_server_route (fx.server, CHAT, script);
  return strlen (a) + strlen (b);
}

/* Setup */

static void
fixture_env (void)
{
  g_unsetenv ("OPENAI_API_KEY");
  g_unsetenv ("OLLAMA_HOST");
  fx.server = rill_test_server_new ();
  route_models ();
  {
    g_autofree char *url = g_strconcat (rill_test_server_get_url (fx.server), "/v1", NULL);
    g_setenv ("OPENAI_BASE_URL", url, TRUE);
  }
}

/* The history opens in a thread, after the window (see rill-window.c). */
static gboolean
store_known (gpointer data)
{
  RillSession *session = rill_application_get_session (fx.app);

  return rill_session_get_store (session) != NULL || rill_session_get_store_error (session);
}

static void
start_app_as (const char *application_id)
{
  g_autoptr(GError) error = NULL;

  fx.app = rill_application_new ();
  if (application_id != NULL)
    g_application_set_application_id (G_APPLICATION (fx.app), application_id);
  g_application_set_flags (G_APPLICATION (fx.app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (fx.app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (fx.app));
  fx.window = RILL_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (fx.app)));
  g_assert_nonnull (fx.window);
  g_object_add_weak_pointer (G_OBJECT (fx.window), (gpointer *) &fx.window);
  g_assert_nonnull (rill_session_get_provider (rill_application_get_session (fx.app)));
  wait_until (store_known, NULL, "the history is open");
}

static void
start_app (void)
{
  start_app_as (NULL);
}

static gboolean
window_mapped (gpointer data)
{
  return gtk_widget_get_mapped (GTK_WIDGET (fx.window));
}

static void
setup (void)
{
  fixture_env ();
  start_app ();
  wait_until (window_mapped, NULL, "the window is on screen");
}

static RillStore *
open_db (void)
{
  g_autofree char *path = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  g_autoptr(GError) error = NULL;
  RillStore *store = rill_store_open (path, &error);

  g_assert_no_error (error);
  return store;
}

/* The last message of the only conversation, read again from the file. */
static RillMessage *
last_db_message (RillStore *store,
                 gint64     conversation_id)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = rill_store_list_messages (store, conversation_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, >, 0);
  return g_object_ref (g_ptr_array_index (messages, messages->len - 1));
}

static GtkEventController *
composer_key_controller (void)
{
  GtkWidget *text_view = GTK_WIDGET (_rill_composer_get_text_view (fx.window->composer));
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (text_view);
  GtkEventController *found = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (controller), "rill-composer-keys") == 0)
        found = controller;
    }
  g_assert_nonnull (found);
  return found;
}

static gboolean
press_key (guint           keyval,
           GdkModifierType state)
{
  gboolean handled = FALSE;

  g_signal_emit_by_name (composer_key_controller (), "key-pressed", keyval, 0, state, &handled);
  return handled;
}

static void
type_and_return (const char *text)
{
  GtkTextView *text_view = _rill_composer_get_text_view (fx.window->composer);

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (text_view), text, -1);
  g_assert_true (press_key (GDK_KEY_Return, 0));
}

static char *
composer_text (void)
{
  return rill_composer_dup_text (fx.window->composer);
}

/* Scenarios */

static void
test_send_with_return (void)
{
  const char *tokens[] = { "Hello", ", ", "wor", "ld", "!\n\n", "```\ncode\n```\n", "Done 中文",
                           NULL };
  g_autofree char *expected = rill_test_join_tokens (tokens);
  g_autoptr(RillStore) store = NULL;
  g_autoptr(RillMessage) message = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *text = NULL;
  RillMessageRow *row;
  GtkWidget *text_view;
  GListModel *conversations;

  setup ();
  route_tokens (tokens, 7);

  text_view = GTK_WIDGET (_rill_composer_get_text_view (fx.window->composer));
  g_assert_true (gtk_widget_has_focus (text_view));
  type_and_return ("Say hello");
  text = composer_text ();
  g_assert_cmpstr (text, ==, "");
  text_view = GTK_WIDGET (_rill_composer_get_text_view (fx.window->composer));
  g_assert_true (gtk_widget_has_focus (text_view));

  wait_until (last_row_done, NULL, "the reply finished");
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  g_assert_cmpint (rill_message_row_get_status (row), ==, RILL_STATUS_COMPLETE);
  shown = _rill_message_row_dup_shown_text (row);
  g_assert_cmpstr (shown, ==, expected);
  g_assert_cmpstr (rill_message_row_get_source (row), ==, expected);

  store = open_db ();
  message = last_db_message (store, _rill_window_get_conversation_id (fx.window));
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_COMPLETE);
  g_assert_cmpstr (rill_message_get_content (message), ==, expected);
  g_assert_cmpstr (rill_message_get_model (message), ==, "test-model");

  /* The sidebar lists it, titled from the first message. */
  wait_until (has_no_reply, NULL, "the window is idle");
  conversations = G_LIST_MODEL (rill_sidebar_get_conversations (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 1);
  {
    g_autoptr(RillConversation) conversation = NULL;

    conversations = G_LIST_MODEL (rill_sidebar_get_conversations (fx.window->sidebar));
    conversation = g_list_model_get_item (conversations, 0);
    g_assert_cmpstr (rill_conversation_get_title (conversation), ==, "Say hello");
  }
  {
    g_autofree char *model = rill_model_picker_dup_selected (fx.window->model_picker);
    g_assert_cmpstr (model, ==, "test-model");
  }
}

static void
test_shift_return (void)
{
  g_autofree char *text = NULL;
  GtkTextView *text_view;

  setup ();
  text_view = _rill_composer_get_text_view (fx.window->composer);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (text_view), "line", -1);
  /* Shift+Return and a Return while an input method composes are not ours. */
  g_assert_false (press_key (GDK_KEY_Return, GDK_SHIFT_MASK));
  g_signal_emit_by_name (_rill_composer_get_text_view (fx.window->composer), "preedit-changed",
                         "ni'hao");
  g_assert_false (press_key (GDK_KEY_Return, 0));
  g_signal_emit_by_name (_rill_composer_get_text_view (fx.window->composer), "preedit-changed", "");
  text = composer_text ();
  g_assert_cmpstr (text, ==, "line");
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 0);
  g_assert_null (rill_conversation_view_get_reply (fx.window->conversation_view));
}

/* Sends, waits until "Hello world" is on screen (the server holds the rest
 * at a gate), ends the reply with @stop, and checks screen and database. */
static void
stop_scenario (void (*stop)(void))
{
  gsize before_gate;
  g_autoptr(RillStore) store = NULL;
  g_autoptr(RillMessage) message = NULL;
  g_autofree char *shown = NULL;
  RillMessageRow *row;
  gint64 conversation_id;
  GtkActionable *send_button;

  setup ();
  before_gate = route_gated ();
  type_and_return ("Count");
  wait_until (has_reply, NULL, "the reply starts");
  send_button = GTK_ACTIONABLE (_rill_composer_get_send_button (fx.window->composer));
  g_assert_true (g_str_equal (gtk_actionable_get_action_name (send_button), "composer.stop"));
  wait_until (bytes_sent_at_least, GSIZE_TO_POINTER (before_gate),
              "the server sent the first tokens");
  wait_until (row_shows_text, (gpointer) "Hello world", "the tokens are on screen");

  row = g_object_ref (rill_conversation_view_get_last_row (fx.window->conversation_view,
                                                           RILL_ROLE_ASSISTANT));
  conversation_id = _rill_window_get_conversation_id (fx.window);
  stop ();

  /* The window is free at once; Send is back. */
  g_assert_null (rill_conversation_view_get_reply (fx.window->conversation_view));
  send_button = GTK_ACTIONABLE (_rill_composer_get_send_button (fx.window->composer));
  g_assert_true (g_str_equal (gtk_actionable_get_action_name (send_button), "composer.send"));

  wait_until (last_row_done, NULL, "the stopped reply is committed");
  g_assert_cmpint (rill_message_row_get_status (row), ==, RILL_STATUS_STOPPED);
  shown = _rill_message_row_dup_shown_text (row);
  g_assert_cmpstr (shown, ==, "Hello world");

  store = open_db ();
  message = last_db_message (store, conversation_id);
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_STOPPED);
  g_assert_cmpstr (rill_message_get_content (message), ==, "Hello world");
  g_object_unref (row);

  /* The next message goes at once. */
  rill_test_server_open_gate (fx.server, "rest");
  type_and_return ("Again");
  g_assert_nonnull (rill_conversation_view_get_reply (fx.window->conversation_view));
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, conversation_id);
  wait_until (last_row_done, NULL, "the next reply finished");
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 2);
}

static void
stop_with_button (void)
{
  g_signal_emit_by_name (_rill_composer_get_send_button (fx.window->composer), "clicked");
}

static void
stop_with_escape (void)
{
  /* What the window's Escape binding runs. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.stop", NULL));
}

static void
test_stop_button (void)
{
  stop_scenario (stop_with_button);
}

static void
test_escape (void)
{
  stop_scenario (stop_with_escape);
}

static void
ending_scenario (gboolean quit)
{
  gsize before_gate;
  g_autoptr(RillStore) store = NULL;
  g_autoptr(RillMessage) message = NULL;
  gint64 conversation_id;
  gint64 start;

  setup ();
  before_gate = route_gated ();
  type_and_return ("Count");
  wait_until (bytes_sent_at_least, GSIZE_TO_POINTER (before_gate),
              "the server sent the first tokens");
  wait_until (row_shows_text, (gpointer) "Hello world", "the tokens are on screen");
  conversation_id = _rill_window_get_conversation_id (fx.window);

  /* The server keeps the stream open: ending must not wait for it. */
  start = g_get_monotonic_time ();
  if (quit)
    g_action_group_activate_action (G_ACTION_GROUP (fx.app), "quit", NULL);
  else
    gtk_window_close (GTK_WINDOW (fx.window));
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_assert_null (fx.window);

  /* Committed before close/quit returned: read the file now. */
  store = open_db ();
  message = last_db_message (store, conversation_id);
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_STOPPED);
  g_assert_cmpstr (rill_message_get_content (message), ==, "Hello world");
}

static void
test_close_mid_stream (void)
{
  ending_scenario (FALSE);
}

static void
test_quit_mid_stream (void)
{
  ending_scenario (TRUE);
}

/* SIGTERM: the app runs in a child process (this program, running the real
 * RillApplication with g_application_run), the server in this one. */

static void
child_activate_cb (GApplication *app)
{
  RillWindow *window = RILL_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));

  fx.window = window;
  type_and_return ("Count");
}

static void
run_child (void)
{
  g_autoptr(RillApplication) app = rill_application_new ();

  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_signal_connect_after (app, "activate", G_CALLBACK (child_activate_cb), NULL);
  exit (g_application_run (G_APPLICATION (app), 0, NULL));
}

static gboolean
subprocess_done (gpointer data)
{
  return *(gboolean *) data;
}

static void
wait_cb (GObject *object, GAsyncResult *result, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  *(gboolean *) data = TRUE;
}

static void
test_sigterm_mid_stream (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(RillMessage) message = NULL;
  const char *argv[] = { g_test_get_filename (G_TEST_BUILT, "test-window", NULL),
                         "-p", "/window/sigterm-mid-stream", NULL };
  gboolean done = FALSE;
  gsize before_gate;
  gint64 start;

  fixture_env ();
  before_gate = route_gated ();

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, "RILL_TEST_CHILD", "1", TRUE);
  child = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_wait_async (child, NULL, wait_cb, &done);

  wait_until (bytes_sent_at_least, GSIZE_TO_POINTER (before_gate), "the child's stream started");
  /* Whatever part of the tokens the child had read must be what it keeps. */
  start = g_get_monotonic_time ();
  g_subprocess_send_signal (child, SIGTERM);
  wait_until (subprocess_done, &done, "the child exits after SIGTERM");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_true (g_subprocess_get_if_exited (child));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 0);

  store = open_db ();
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 0);
  conversations = rill_store_list_conversations (store, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conversations->len, ==, 1);
  message = last_db_message (store,
                             rill_conversation_get_id (g_ptr_array_index (conversations, 0)));
  g_assert_cmpint (rill_message_get_role (message), ==, RILL_ROLE_ASSISTANT);
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_STOPPED);
  g_assert_true (g_str_has_prefix ("Hello world", rill_message_get_content (message)));
}

static void
test_error_banner (void)
{
  RillTestScript *script = rill_test_script_new (401, "application/json");
  g_autoptr(RillStore) store = NULL;
  g_autoptr(RillMessage) message = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  RillMessageRow *row;

  setup ();
  rill_test_script_send (script,
                         "{\"error\":{\"message\":\"Incorrect API key provided\","
                         "\"type\":\"invalid_request_error\"}}",
                         -1, 0);
  rill_test_server_route (fx.server, CHAT, script);
  type_and_return ("Hi");
  wait_until (last_row_done, NULL, "the reply failed");

  g_assert_true (gtk_revealer_get_reveal_child (fx.window->banner_revealer));
  g_assert_nonnull (strstr (gtk_label_get_text (fx.window->banner_label),
                            "Incorrect API key provided"));
  g_assert_nonnull (strstr (gtk_label_get_text (fx.window->banner_label), "401"));
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  g_assert_cmpint (rill_message_row_get_status (row), ==, RILL_STATUS_FAILED);
  /* A failed reply offers to ask again, not to continue. */
  wait_until (has_no_reply, NULL, "the window is idle");
  {
    GtkButton *button;

    row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
    button = _rill_message_row_get_problem_button (row);

    g_assert_nonnull (button);
    g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (gtk_button_get_child (button))), ==,
                     "_Retry");
  }
  /* The person's message stays, on screen and stored. */
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_USER);
  g_assert_cmpstr (rill_message_row_get_source (row), ==, "Hi");

  store = open_db ();
  messages = rill_store_list_messages (store, _rill_window_get_conversation_id (fx.window), NULL);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 0)), ==, "Hi");
  message = g_object_ref (g_ptr_array_index (messages, 1));
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_FAILED);
  g_assert_nonnull (strstr (rill_message_get_error (message), "Incorrect API key provided"));
}

static void
test_error_mid_stream (void)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autofree char *a = sse_token ("Partial ");
  g_autofree char *b = sse_token ("answer");
  g_autoptr(RillStore) store = NULL;
  g_autoptr(RillMessage) message = NULL;
  g_autofree char *shown = NULL;
  RillMessageRow *row;

  setup ();
  rill_test_script_send (script, a, -1, 0);
  rill_test_script_send (script, b, -1, 0);
  rill_test_script_reset (script);
  rill_test_server_route (fx.server, CHAT, script);
  type_and_return ("Hi");
  wait_until (last_row_done, NULL, "the reply failed");

  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  shown = _rill_message_row_dup_shown_text (row);
  g_assert_cmpstr (shown, ==, "Partial answer");
  g_assert_true (gtk_revealer_get_reveal_child (fx.window->banner_revealer));

  store = open_db ();
  message = last_db_message (store, _rill_window_get_conversation_id (fx.window));
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_message_get_content (message), ==, "Partial answer");
}

static gboolean
message_row_visible (gpointer data)
{
  GtkBox *messages_box = _rill_conversation_view_get_messages_box (fx.window->conversation_view);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (messages_box));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    if (rill_message_row_get_message_id (RILL_MESSAGE_ROW (child)) == *(gint64 *) data)
      return !_rill_conversation_view_is_scrolling (fx.window->conversation_view);
  return FALSE;
}

static void
test_search_chinese (void)
{
  const char *tokens[] = { "第一个回答", NULL };
  const char *tokens2[] = { "今天天气很好，我们去公园散步吧。", NULL };
  g_autoptr(RillMessage) found = NULL;
  gint64 first_conversation, message_id;
  GtkWidget *search_entry;
  GListModel *results;

  setup ();
  route_tokens (tokens, 0);
  type_and_return ("你好");
  wait_until (last_row_done, NULL, "the first reply finished");
  first_conversation = _rill_window_get_conversation_id (fx.window);
  wait_until (has_no_reply, NULL, "the window is idle");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-conversation", NULL));
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, 0);
  route_tokens (tokens2, 5);
  type_and_return ("天气");
  wait_until (last_row_done, NULL, "the second reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.search", NULL));
  search_entry = GTK_WIDGET (_rill_sidebar_get_search_entry (fx.window->sidebar));
  g_assert_true (gtk_widget_has_focus (search_entry) ||
                 gtk_widget_is_focus (gtk_widget_get_first_child (search_entry)) ||
                 gtk_widget_get_focus_child (search_entry) != NULL);

  /* Two characters from the middle of a reply. */
  rill_window_search (fx.window, "公园");
  results = G_LIST_MODEL (_rill_sidebar_get_results (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 1);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (_rill_sidebar_get_stack (fx.window->sidebar)),
                   ==, "results");
  found = g_list_model_get_item (G_LIST_MODEL (_rill_sidebar_get_results (fx.window->sidebar)), 0);
  g_assert_nonnull (strstr (rill_message_get_content (found), "公园"));

  /* One character, in the first conversation only. */
  rill_window_search (fx.window, "第");
  results = G_LIST_MODEL (_rill_sidebar_get_results (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 1);
  g_clear_object (&found);
  found = g_list_model_get_item (G_LIST_MODEL (_rill_sidebar_get_results (fx.window->sidebar)), 0);
  message_id = rill_message_get_id (found);
  g_assert_cmpint (rill_message_get_conversation_id (found), ==, first_conversation);

  /* Opening the result opens that conversation, scrolled to the message. */
  g_signal_emit_by_name (_rill_sidebar_get_results_view (fx.window->sidebar), "activate", 0);
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, first_conversation);
  wait_until (message_row_visible, &message_id, "the found message is scrolled to");

  rill_window_search (fx.window, "没有这个词");
  results = G_LIST_MODEL (_rill_sidebar_get_results (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (_rill_sidebar_get_stack (fx.window->sidebar)),
                   ==, "no-results");
}

static char *
file_checksum (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
}

/* An upgrade that fails leaves the history as it was, and the window says
 * so in words, where the person looks: the banner and the welcome page. */
static void
test_upgrade_failed (void)
{
  g_autofree char *dir = g_build_filename (fx.data_home, "rill", NULL);
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autofree char *damaged = g_build_filename (dir, "history.db.damaged", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (_rill_store_create_at_version (path, 2, &error));
  g_assert_no_error (error);
  test_sql_exec (path, "INSERT INTO conversations (title, created_at, updated_at)"
                 " VALUES ('Kept', 1, 1)");
  /* The upgrade creates this index: a file that has one cannot be upgraded. */
  test_sql_exec (path, "CREATE INDEX messages_by_parent ON messages (created_at)");
  before = file_checksum (path);

  g_test_expect_message ("rill-core", G_LOG_LEVEL_WARNING,
                         "Could not open the history: *upgraded*");
  setup ();
  g_test_assert_expected_messages ();
  g_assert_true (gtk_revealer_get_reveal_child (fx.window->banner_revealer));
  g_assert_nonnull (strstr (gtk_label_get_text (fx.window->banner_label), "could not be upgraded"));
  g_assert_nonnull (strstr (gtk_label_get_text (fx.window->banner_label), "history.db.before-v2"));

  /* Nothing was changed, nothing set aside, nothing can be lost by sending. */
  after = file_checksum (path);
  g_assert_cmpstr (after, ==, before);
  g_assert_false (g_file_test (damaged, G_FILE_TEST_EXISTS));
  type_and_return ("Hello");
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 0);
  g_clear_pointer (&after, g_free);
  after = file_checksum (path);
  g_assert_cmpstr (after, ==, before);
}

static void
test_offline_reopen (void)
{
  const char *tokens[] = { "Stored ", "while ", "online", NULL };
  g_autofree char *shown = NULL;
  gint64 conversation_id;
  RillMessageRow *row;
  GListModel *conversations;
  GListModel *results;
  GtkBox *messages_box;

  setup ();
  route_tokens (tokens, 3);
  type_and_return ("Remember this");
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  conversation_id = _rill_window_get_conversation_id (fx.window);

  /* The network goes away: the server closes and its port refuses. */
  g_clear_pointer (&fx.server, rill_test_server_free);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-conversation", NULL));
  g_assert_null (rill_conversation_view_get_last_row (fx.window->conversation_view,
                                                      RILL_ROLE_ASSISTANT));
  conversations = G_LIST_MODEL (rill_sidebar_get_conversations (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 1);
  g_signal_emit_by_name (_rill_sidebar_get_conversation_view (fx.window->sidebar), "activate", 0);
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, conversation_id);

  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  shown = _rill_message_row_dup_shown_text (row);
  g_assert_cmpstr (shown, ==, "Stored while online");
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_USER);
  g_assert_cmpstr (rill_message_row_get_source (row), ==, "Remember this");

  /* Search works offline too. */
  rill_window_search (fx.window, "online");
  results = G_LIST_MODEL (_rill_sidebar_get_results (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 1);

  /* Sending fails in words; the history stays on screen. */
  type_and_return ("Still there?");
  wait_until (last_row_done, NULL, "the offline reply failed");
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  g_assert_cmpint (rill_message_row_get_status (row), ==, RILL_STATUS_FAILED);
  g_assert_true (gtk_revealer_get_reveal_child (fx.window->banner_revealer));
  messages_box = _rill_conversation_view_get_messages_box (fx.window->conversation_view);
  row = RILL_MESSAGE_ROW (gtk_widget_get_first_child (GTK_WIDGET (messages_box)));
  g_assert_cmpstr (rill_message_row_get_source (row), ==, "Remember this");
}

static void
test_regenerate (void)
{
  const char *tokens[] = { "Answer", NULL };
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GPtrArray) messages = NULL;

  setup ();
  route_tokens (tokens, 0);
  type_and_return ("Question");
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.regenerate", NULL));
  g_assert_nonnull (rill_conversation_view_get_reply (fx.window->conversation_view));
  wait_until (last_row_done, NULL, "the new reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 2);
  /* The question is sent again, once. */
  g_assert_nonnull (strstr (rill_test_server_get_request_body (fx.server, CHAT), "Question"));
  g_assert_null (strstr (rill_test_server_get_request_body (fx.server, CHAT), "Answer"));

  /* The first answer stays, as the first version; both follow the question. */
  store = open_db ();
  messages = rill_store_list_messages (store, _rill_window_get_conversation_id (fx.window), NULL);
  g_assert_cmpuint (messages->len, ==, 3);
  for (guint i = 1; i < 3; i++)
    {
      RillMessage *answer = g_ptr_array_index (messages, i);

      g_assert_cmpstr (rill_message_get_content (answer), ==, "Answer");
      g_assert_cmpint (rill_message_get_parent_id (answer), ==,
                       rill_message_get_id (g_ptr_array_index (messages, 0)));
    }
  g_assert_cmpuint (rill_message_row_get_version (
                      rill_conversation_view_get_last_row (fx.window->conversation_view,
                                                           RILL_ROLE_ASSISTANT)), ==, 2);
}

/* A stopped reply offers Continue: a new request with the conversation as
 * it stands, the stopped text included, and the stopped reply kept. */
static void
test_continue (void)
{
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  RillMessageRow *stopped;
  GtkButton *button;
  const char *body;
  GtkBox *messages_box;

  setup ();
  route_gated ();
  type_and_return ("Count");
  wait_until (row_shows_text, (gpointer) "Hello world", "the tokens are on screen");
  stopped = g_object_ref (rill_conversation_view_get_last_row (fx.window->conversation_view,
                                                               RILL_ROLE_ASSISTANT));
  g_signal_emit_by_name (_rill_composer_get_send_button (fx.window->composer), "clicked");
  wait_until (last_row_done, NULL, "the stopped reply is committed");
  g_assert_cmpint (rill_message_row_get_status (stopped), ==, RILL_STATUS_STOPPED);

  button = _rill_message_row_get_problem_button (stopped);
  g_assert_nonnull (button);
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (gtk_button_get_child (button))), ==,
                   "_Continue");
  g_assert_nonnull (gtk_widget_get_tooltip_text (GTK_WIDGET (button)));

  rill_test_server_open_gate (fx.server, "rest");
  g_signal_emit_by_name (button, "clicked");
  g_assert_nonnull (rill_conversation_view_get_reply (fx.window->conversation_view));
  wait_until (last_row_done, NULL, "the continuation finished");
  wait_until (has_no_reply, NULL, "the window is idle");

  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 2);
  body = rill_test_server_get_request_body (fx.server, CHAT);
  g_assert_nonnull (strstr (body, "Count"));
  g_assert_nonnull (strstr (body, "Hello world"));

  /* The stopped reply stays, on screen and stored, the new one after it;
   * only the last offers anything. */
  messages_box = _rill_conversation_view_get_messages_box (fx.window->conversation_view);
  g_assert_true (gtk_widget_get_parent (GTK_WIDGET (stopped)) == GTK_WIDGET (messages_box));
  g_assert_null (_rill_message_row_get_problem_button (stopped));
  g_object_unref (stopped);
  store = open_db ();
  messages = rill_store_list_messages (store, _rill_window_get_conversation_id (fx.window), NULL);
  g_assert_cmpuint (messages->len, ==, 3);
  g_assert_cmpint (rill_message_get_status (g_ptr_array_index (messages, 1)),
                   ==, RILL_STATUS_STOPPED);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 1)), ==, "Hello world");
  g_assert_cmpint (rill_message_get_status (g_ptr_array_index (messages, 2)),
                   ==, RILL_STATUS_COMPLETE);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 2)),
                   ==, "Hello world and the rest");
}

static void
test_edit_and_resend (void)
{
  const char *tokens[] = { "Answer", NULL };
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *text = NULL;
  GtkRevealer *edit_revealer;

  setup ();
  route_tokens (tokens, 0);
  type_and_return ("Frist try");
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.edit-last", NULL));
  text = composer_text ();
  g_assert_cmpstr (text, ==, "Frist try");
  edit_revealer = _rill_composer_get_edit_revealer (fx.window->composer);
  g_assert_true (gtk_revealer_get_reveal_child (edit_revealer));
  type_and_return ("First try");
  wait_until (last_row_done, NULL, "the new reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");

  /* Nothing is deleted: the edited message and its answer stay as the
   * first version, and are not sent. */
  store = open_db ();
  messages = rill_store_list_messages (store, _rill_window_get_conversation_id (fx.window), NULL);
  g_assert_cmpuint (messages->len, ==, 4);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 0)), ==, "Frist try");
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 2)), ==, "First try");
  g_assert_cmpint (rill_message_get_parent_id (g_ptr_array_index (messages, 2)), ==, 0);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 3)), ==, "Answer");
  g_assert_null (strstr (rill_test_server_get_request_body (fx.server, CHAT), "Frist"));
}

/* Versions: regenerate twice, edit the first message, switch back, send,
 * restart. */

static void
reply_with (const char *answer)
{
  const char *tokens[] = { answer, NULL };

  route_tokens (tokens, 0);
}

static void
wait_idle (const char *what)
{
  wait_until (last_row_done, NULL, what);
  wait_until (has_no_reply, NULL, "the window is idle");
}

/* The sources of the rows shown, joined by " | ". */
static char *
shown_path (void)
{
  GtkBox *box = _rill_conversation_view_get_messages_box (fx.window->conversation_view);
  g_autoptr(GString) path = g_string_new (NULL);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (box)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    g_string_append_printf (path, "%s%s", path->len ? " | " : "",
                            rill_message_row_get_source (RILL_MESSAGE_ROW (child)));
  return g_string_free (g_steal_pointer (&path), FALSE);
}

static RillMessageRow *
nth_row (guint n)
{
  GtkBox *box = _rill_conversation_view_get_messages_box (fx.window->conversation_view);
  GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (box));

  while (n-- > 0 && child != NULL)
    child = gtk_widget_get_next_sibling (child);
  g_assert_nonnull (child);
  return RILL_MESSAGE_ROW (child);
}

static void
assert_versions (guint n, guint version, guint n_versions)
{
  RillMessageRow *row = nth_row (n);

  g_assert_cmpuint (rill_message_row_get_version (row), ==, version);
  g_assert_cmpuint (rill_message_row_get_n_versions (row), ==, n_versions);
}

static void
click_version_button (guint n, int offset)
{
  GtkWidget *button = _rill_message_row_get_version_button (nth_row (n), offset);

  g_assert_true (gtk_widget_is_sensitive (button));
  g_assert_true (gtk_widget_get_mapped (button));
  g_signal_emit_by_name (button, "clicked");
}

static void
test_versions (void)
{
  static const char *answers[] = { "Answer one", "Answer two · 第二", "Answer three" };
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *path = NULL;
  const char *body;
  gint64 conversation_id;

  setup ();
  reply_with (answers[0]);
  type_and_return ("Question");
  wait_idle ("the first answer finished");
  for (guint i = 1; i < 3; i++)
    {
      reply_with (answers[i]);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.regenerate", NULL));
      wait_idle ("a regenerated answer finished");
    }
  assert_versions (1, 3, 3);

  reply_with ("Edited answer");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.edit-last", NULL));
  type_and_return ("Question, edited");
  wait_idle ("the answer to the edit finished");
  path = shown_path ();
  g_assert_cmpstr (path, ==, "Question, edited | Edited answer");
  assert_versions (0, 2, 2);
  assert_versions (1, 1, 1);
  g_assert_false (gtk_widget_get_visible (
                    gtk_widget_get_parent (_rill_message_row_get_version_button (nth_row (1), 1))));
  conversation_id = _rill_window_get_conversation_id (fx.window);

  /* Every version is stored byte for byte, in a tree. */
  store = open_db ();
  messages = rill_store_list_messages (store, conversation_id, NULL);
  g_assert_cmpuint (messages->len, ==, 6);
  {
    static const char *contents[] = {
      "Question", "Answer one", "Answer two · 第二", "Answer three", "Question, edited",
      "Edited answer",
    };
    static const int parents[] = { -1, 0, 0, 0, -1, 4 };

    for (guint i = 0; i < messages->len; i++)
      {
        RillMessage *message = g_ptr_array_index (messages, i);

        g_assert_cmpstr (rill_message_get_content (message), ==, contents[i]);
        g_assert_cmpint (rill_message_get_parent_id (message), ==,
                         parents[i] < 0 ? 0
                         : rill_message_get_id (g_ptr_array_index (messages, parents[i])));
      }
  }
  g_clear_object (&store);

  /* Back to the first question: its newest answer comes with it. */
  click_version_button (0, -1);
  g_clear_pointer (&path, g_free);
  path = shown_path ();
  g_assert_cmpstr (path, ==, "Question | Answer three");
  assert_versions (0, 1, 2);
  assert_versions (1, 3, 3);
  /* The keyboard: Alt+Left acts on the last message with versions. */
  gtk_widget_grab_focus (GTK_WIDGET (_rill_composer_get_text_view (fx.window->composer)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.previous-version",
                                             NULL));
  g_clear_pointer (&path, g_free);
  path = shown_path ();
  g_assert_cmpstr (path, ==, "Question | Answer two · 第二");
  assert_versions (1, 2, 3);

  /* What is sent is the path shown, and nothing from other versions. */
  reply_with ("Follow-up answer");
  type_and_return ("Follow-up");
  wait_idle ("the follow-up finished");
  body = rill_test_server_get_request_body (fx.server, CHAT);
  g_assert_nonnull (strstr (body, "\"Question\""));
  g_assert_nonnull (strstr (body, "Answer two · 第二"));
  g_assert_nonnull (strstr (body, "Follow-up"));
  g_assert_null (strstr (body, "Answer one"));
  g_assert_null (strstr (body, "Answer three"));
  g_assert_null (strstr (body, "edited"));
  g_assert_null (strstr (body, "Edited answer"));

  /* The path shown survives a restart: a new application, session, store
   * and window. The one that quit keeps its name on the bus until it is
   * finalized, which only the end of g_application_run() brings; the new
   * one registers under another. */
  g_action_group_activate_action (G_ACTION_GROUP (fx.app), "quit", NULL);
  g_assert_null (fx.window);
  g_clear_object (&fx.app);
  start_app_as ("io.github.rill.Rill.Restarted");
  wait_until (window_mapped, NULL, "the window is on screen again");
  g_signal_emit_by_name (_rill_sidebar_get_conversation_view (fx.window->sidebar), "activate", 0);
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, conversation_id);
  g_clear_pointer (&path, g_free);
  path = shown_path ();
  g_assert_cmpstr (path, ==, "Question | Answer two · 第二 | Follow-up | Follow-up answer");
  assert_versions (0, 1, 2);
  assert_versions (1, 2, 3);
}

/* Search finds text in every version, and opening a result shows the path
 * that holds it. */
static void
test_search_versions (void)
{
  GListModel *results;

  setup ();
  reply_with ("Only in the first version");
  type_and_return ("Question");
  wait_idle ("the first answer finished");
  reply_with ("The second version");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.regenerate", NULL));
  wait_idle ("the second answer finished");
  g_assert_cmpuint (rill_message_row_get_version (nth_row (1)), ==, 2);

  rill_window_search (fx.window, "first version");
  results = G_LIST_MODEL (_rill_sidebar_get_results (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 1);
  g_signal_emit_by_name (_rill_sidebar_get_results_view (fx.window->sidebar), "activate", 0);
  g_assert_cmpstr (rill_message_row_get_source (nth_row (1)), ==, "Only in the first version");
  assert_versions (1, 1, 2);
}

/* What reaches Pango markup is text as typed: a title with "<", "&" and
 * quotes in the toast that offers Undo, and a server address with "&" on
 * the welcome page. A markup error would be a warning, fatal here. */
static char *
markup_text (const char *markup)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_assert_true (pango_parse_markup (markup, -1, 0, NULL, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

static void
test_markup_as_typed (void)
{
  static const char title[] = "Why is a<b && c \"wrong\"? <i>not italic</i>";
  const char *tokens[] = { "Answer", NULL };
  g_autofree char *shown = NULL;
  g_autofree char *described = NULL;
  g_autofree char *url = NULL;
  AdwStatusPage *welcome;

  fixture_env ();
  url = g_strconcat (rill_test_server_get_url (fx.server), "/v1?a=1&b=<2>", NULL);
  g_setenv ("OPENAI_BASE_URL", url, TRUE);
  start_app ();
  wait_until (window_mapped, NULL, "the window is on screen");

  welcome = _rill_conversation_view_get_welcome_page (fx.window->conversation_view);
  described = markup_text (adw_status_page_get_description (welcome));
  g_test_message ("welcome: %s", described);
  g_assert_nonnull (strstr (described, "a=1&b=<2>"));

  route_tokens (tokens, 0);
  type_and_return (title);
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.delete-conversation",
                                             NULL));
  g_assert_nonnull (fx.window->delete_toast);
  shown = markup_text (adw_toast_get_title (fx.window->delete_toast));
  g_assert_cmpstr (shown, ==, "“Why is a<b && c \"wrong\"? <i>not italic</i>” deleted");
}

static gboolean
conversation_count_is (gpointer data)
{
  g_autoptr(RillStore) store = open_db ();

  return rill_store_count_conversations (store) == GPOINTER_TO_UINT (data);
}

static gboolean
shows_conversation (gpointer data)
{
  return _rill_window_get_conversation_id (fx.window) == GPOINTER_TO_INT (data) &&
         g_list_model_get_n_items (rill_sidebar_get_conversations (fx.window->sidebar)) > 0;
}

static void
test_delete_and_undo (void)
{
  const char *tokens[] = { "Answer", NULL };
  gint64 conversation_id;
  GListModel *conversations;

  setup ();
  route_tokens (tokens, 0);
  type_and_return ("Keep me");
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  conversation_id = _rill_window_get_conversation_id (fx.window);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.delete-conversation",
                                             NULL));
  conversations = G_LIST_MODEL (rill_sidebar_get_conversations (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 0);
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, 0);
  g_assert_nonnull (fx.window->delete_toast);

  /* Undo brings it back from the trash, and nothing was deleted. */
  g_signal_emit_by_name (fx.window->delete_toast, "button-clicked");
  wait_until (shows_conversation, GINT_TO_POINTER (conversation_id), "it is shown again");
  conversations = G_LIST_MODEL (rill_sidebar_get_conversations (fx.window->sidebar));
  g_assert_cmpuint (g_list_model_get_n_items (conversations), ==, 1);
  adw_toast_dismiss (fx.window->delete_toast);
  g_assert_true (conversation_count_is (GUINT_TO_POINTER (1)));

  /* Without undo, it is in the trash at once, toast or not. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.delete-conversation",
                                             NULL));
  wait_until (conversation_count_is, GUINT_TO_POINTER (0), "the conversation is deleted");
  adw_toast_dismiss (fx.window->delete_toast);
}

typedef struct
{
  RillWindow *other;
  const char *title;
} Renamed;

static gboolean
renamed_everywhere (gpointer data)
{
  Renamed *renamed = data;
  g_autoptr(RillConversation) listed =
    g_list_model_get_item (rill_sidebar_get_conversations (renamed->other->sidebar), 0);

  return g_strcmp0 (adw_window_title_get_title (fx.window->window_title), renamed->title) == 0 &&
         listed != NULL && g_strcmp0 (rill_conversation_get_title (listed), renamed->title) == 0;
}

static gboolean
other_shows_nothing (gpointer data)
{
  return _rill_window_get_conversation_id (data) == 0;
}

/* A change written to the store shows in every window, without being told:
 * the title of the window showing it and the other window's list. */
static void
test_follows_store (void)
{
  const char *tokens[] = { "Answer", NULL };
  RillStore *store;
  Renamed renamed = { NULL, "Renamed 改名" };

  setup ();
  route_tokens (tokens, 0);
  type_and_return ("First title");
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_assert_cmpstr (adw_window_title_get_title (fx.window->window_title), ==, "First title");

  g_action_group_activate_action (G_ACTION_GROUP (fx.app), "new-window", NULL);
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (fx.app)); l != NULL; l = l->next)
    if (l->data != fx.window)
      renamed.other = l->data;
  g_assert_nonnull (renamed.other);

  store = rill_session_get_store (rill_application_get_session (fx.app));
  rill_store_update_conversation_async (store, _rill_window_get_conversation_id (fx.window),
                                        RILL_CONVERSATION_TITLE, renamed.title, NULL, NULL, NULL);
  wait_until (renamed_everywhere, &renamed, "both windows show the new title");

  /* Moved to the trash in one window, it leaves the other too. */
  rill_window_open_conversation (renamed.other, _rill_window_get_conversation_id (fx.window), 0);
  g_assert_cmpint (_rill_window_get_conversation_id (renamed.other), ==,
                   _rill_window_get_conversation_id (fx.window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.delete-conversation",
                                             NULL));
  wait_until (other_shows_nothing, renamed.other, "the other window leaves it");
}

static GtkWidget *
blocks_of (RillMessageRow *row)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (row)); child;
       child = gtk_widget_get_next_sibling (child))
    if (RILL_IS_BLOCK_COLUMN (child))
      return child;
  g_assert_not_reached ();
}

static guint
count_placeholders (RillMessageRow *row)
{
  guint n = 0;

  for (GtkWidget *block = gtk_widget_get_first_child (blocks_of (row)); block;
       block = gtk_widget_get_next_sibling (block))
    n += rill_block_column_is_placeholder (block);
  return n;
}

/* Blocks laid out as labels and code, not counting the live tail. */
static guint
count_blocks (RillMessageRow *row)
{
  guint n = 0;

  for (GtkWidget *block = gtk_widget_get_first_child (blocks_of (row)); block;
       block = gtk_widget_get_next_sibling (block))
    n += !rill_block_column_is_placeholder (block) && !GTK_IS_TEXT_VIEW (block);
  return n;
}

static gboolean
no_placeholders (gpointer data)
{
  return count_placeholders (data) == 0;
}

static gboolean
row_drawn (gpointer data)
{
  return _rill_message_row_is_drawn (data);
}

static void
test_long_reply_blocks (void)
{
  GPtrArray *tokens = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *expected = NULL;
  g_autofree char *shown = NULL;
  RillMessageRow *row;
  GtkTextBuffer *tail;
  GtkAdjustment *adj;
  gint64 conversation_id;
  guint n_blocks;
  GtkScrolledWindow *scroller;

  setup ();
  /* 200 KB: paragraphs, code, and a 40 KB line that never ends. */
  for (guint i = 0; i < 400; i++)
    g_ptr_array_add (tokens,
                     g_strdup_printf ("Paragraph %u has **some** words in it, 中文 too.\n\n", i));
  g_ptr_array_add (tokens, g_strdup ("```\n"));
  for (guint i = 0; i < 500; i++)
    g_ptr_array_add (tokens, g_strdup_printf ("line_%u = %u\n", i, i * i));
  g_ptr_array_add (tokens, g_strdup ("```\n"));
  for (guint i = 0; i < 4000; i++)
    g_ptr_array_add (tokens, g_strdup ("endless "));
  g_ptr_array_add (tokens, NULL);
  expected = rill_test_join_tokens ((const char * const *) tokens->pdata);
  route_tokens ((const char * const *) tokens->pdata, 1500);
  g_ptr_array_unref (tokens);

  type_and_return ("Long please");
  wait_until (last_row_done, NULL, "the long reply finished");

  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  shown = _rill_message_row_dup_shown_text (row);
  g_assert_true (g_str_equal (shown, expected));

  /* Drawn as many blocks, with nothing left in the live tail. */
  tail = _rill_message_row_get_tail_buffer (row);
  g_assert_cmpint (gtk_text_buffer_get_char_count (tail), ==, 0);
  wait_until (no_placeholders, row, "every block is laid out");
  n_blocks = count_blocks (row);
  g_assert_cmpuint (n_blocks, >, 400);

  /* Opened again from the history, in one go: what is out of view waits as
   * placeholders, what is in view is drawn, and the rest is laid out while
   * the window is idle, including when scrolled to the top. */
  wait_until (has_no_reply, NULL, "the window is idle");
  conversation_id = _rill_window_get_conversation_id (fx.window);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-conversation", NULL));
  g_signal_emit_by_name (_rill_sidebar_get_conversation_view (fx.window->sidebar), "activate", 0);
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, conversation_id);
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  g_clear_pointer (&shown, g_free);
  shown = _rill_message_row_dup_shown_text (row);
  g_assert_true (g_str_equal (shown, expected));
  g_assert_cmpuint (count_placeholders (row), >, 0);
  wait_until (row_drawn, row, "the blocks in view are drawn");
  scroller = _rill_conversation_view_get_scroller (fx.window->conversation_view);
  adj = gtk_scrolled_window_get_vadjustment (scroller);
  gtk_adjustment_set_value (adj, 0);
  wait_until (row_drawn, row, "the top is drawn");
  wait_until (no_placeholders, row, "every block is laid out");
  /* Cut where the whole text is known, not where frames fell: about as many. */
  g_assert_cmpuint (count_blocks (row), >, 400);
}

/* The Trash: delete, then Undo from the toast's own button; delete, then
 * Restore and Delete Forever from the Trash page; delete, then Empty Trash
 * through its confirmation, and the text looked for in the bytes of the
 * database and its WAL. Buttons are found the way a person finds them: by
 * what they say, or by their widget name where they show an icon. */

#define TRASH_MARKER "Quillwort7Zephyrine"

static GtkWidget *
find_widget (GtkWidget  *root,
             gboolean  (*match)(GtkWidget *widget, const char *what),
             const char *what)
{
  if (match (root, what))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, match, what);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
has_name (GtkWidget  *widget,
          const char *name)
{
  return g_strcmp0 (gtk_widget_get_name (widget), name) == 0;
}

static gboolean
has_label (GtkWidget  *widget,
           const char *label)
{
  return GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)),
                                              label) == 0;
}

static gboolean
has_title (GtkWidget  *widget,
           const char *title)
{
  return ADW_IS_ACTION_ROW (widget) &&
         g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0;
}

static void
click (GtkWidget *button)
{
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_assert_true (gtk_widget_get_mapped (button));
  g_signal_emit_by_name (button, "clicked");
}

static void
send_and_wait (const char *text)
{
  type_and_return (text);
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
}

static GListModel *
trash_listed (void)
{
  return rill_trash_view_get_conversations (_rill_sidebar_get_trash_view (fx.window->sidebar));
}

static gboolean
trash_has (gpointer data)
{
  return g_list_model_get_n_items (trash_listed ()) == GPOINTER_TO_UINT (data) &&
         gtk_widget_get_mapped (GTK_WIDGET (_rill_sidebar_get_trash_view (fx.window->sidebar)));
}

static gboolean
sidebar_has (gpointer data)
{
  return g_list_model_get_n_items (rill_sidebar_get_conversations (fx.window->sidebar)) ==
         GPOINTER_TO_UINT (data);
}

static char *
deleted_at_of (gint64 conversation_id)
{
  g_autofree char *path = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  g_autofree char *sql = g_strdup_printf ("SELECT coalesce(deleted_at, 'none') FROM conversations"
                                          " WHERE id = %" G_GINT64_FORMAT, conversation_id);

  return test_sql_try_text (path, sql);
}

static gboolean
in_trash (gpointer data)
{
  g_autofree char *deleted_at = deleted_at_of (GPOINTER_TO_INT (data));

  return deleted_at != NULL && g_strcmp0 (deleted_at, "none") != 0;
}

static void
open_trash (void)
{
  adw_flap_set_reveal_flap (fx.window->flap, TRUE);
  click (find_widget (GTK_WIDGET (fx.window->sidebar), has_name, "trash-button"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (_rill_sidebar_get_pages (fx.window->sidebar)),
                   ==, "trash");
}

static GtkWidget *
trash_row_button (const char *title,
                  const char *name)
{
  GtkWidget *view = GTK_WIDGET (_rill_sidebar_get_trash_view (fx.window->sidebar));
  GtkWidget *row = find_widget (view, has_title, title);

  g_assert_nonnull (row);
  return find_widget (row, has_name, name);
}

static void
assert_messages (gint64      conversation_id,
                 const char *question,
                 const char *answer)
{
  g_autoptr(RillStore) store = open_db ();
  g_autoptr(GPtrArray) messages = rill_store_list_messages (store, conversation_id, NULL);

  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 0)), ==, question);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 1)), ==, answer);
}

static void
test_trash_undo (void)
{
  const char *tokens[] = { "Kept ", "whole", NULL };
  GtkWidget *undo;
  gint64 id;

  setup ();
  route_tokens (tokens, 0);
  send_and_wait ("Undo brings me back");
  id = _rill_window_get_conversation_id (fx.window);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.delete-conversation",
                                             NULL));
  /* Gone from the list at once, and in the trash before the toast goes:
   * quitting now loses nothing. */
  g_assert_true (sidebar_has (GUINT_TO_POINTER (0)));
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, 0);
  wait_until (in_trash, GINT_TO_POINTER (id), "it is in the trash");
  g_assert_nonnull (fx.window->delete_toast);

  /* The toast's own button. */
  undo = find_widget (GTK_WIDGET (fx.window->toast_overlay), has_label, "_Undo");
  click (undo);
  wait_until (shows_conversation, GINT_TO_POINTER (id), "the conversation is shown again");
  g_assert_true (sidebar_has (GUINT_TO_POINTER (1)));
  {
    g_autofree char *deleted_at = deleted_at_of (id);
    g_assert_cmpstr (deleted_at, ==, "none");
  }
  g_assert_cmpstr (adw_window_title_get_title (fx.window->window_title), ==,
                   "Undo brings me back");
  assert_messages (id, "Undo brings me back", "Kept whole");
}

static void
test_trash_restore (void)
{
  const char *tokens[] = { "Answer", NULL };
  GtkWidget *trash_view;
  gint64 first, second;
  int minimum = 0;

  setup ();
  route_tokens (tokens, 0);
  send_and_wait ("First to restore");
  first = _rill_window_get_conversation_id (fx.window);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-conversation",
                                             NULL));
  send_and_wait ("Second to erase");
  second = _rill_window_get_conversation_id (fx.window);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.delete-conversation",
                                             NULL));
  rill_window_open_conversation (fx.window, first, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.delete-conversation",
                                             NULL));
  wait_until (sidebar_has, GUINT_TO_POINTER (0), "both left the list");

  open_trash ();
  wait_until (trash_has, GUINT_TO_POINTER (2), "the Trash lists both");
  trash_view = GTK_WIDGET (_rill_sidebar_get_trash_view (fx.window->sidebar));
  /* Fits the narrowest window. */
  gtk_widget_measure (GTK_WIDGET (fx.window->sidebar), GTK_ORIENTATION_HORIZONTAL, -1,
                      &minimum, NULL, NULL, NULL);
  g_assert_cmpint (minimum, <=, 360);
  g_assert_nonnull (find_widget (trash_view, has_name, "empty-trash"));
  g_assert_true (gtk_widget_get_visible (find_widget (trash_view, has_name, "empty-trash")));

  click (trash_row_button ("First to restore", "restore"));
  wait_until (trash_has, GUINT_TO_POINTER (1), "the Trash lists one");
  wait_until (sidebar_has, GUINT_TO_POINTER (1), "the list has it again");
  {
    g_autofree char *deleted_at = deleted_at_of (first);
    g_assert_cmpstr (deleted_at, ==, "none");
  }
  assert_messages (first, "First to restore", "Answer");

  click (trash_row_button ("Second to erase", "delete-forever"));
  wait_until (trash_has, GUINT_TO_POINTER (0), "the Trash is empty");
  g_assert_null (deleted_at_of (second));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (
                                                       find_widget (trash_view, has_name,
                                                                    "trash-stack"))),
                   ==, "empty");
  g_assert_false (gtk_widget_get_visible (find_widget (trash_view, has_name, "empty-trash")));
  g_assert_true (sidebar_has (GUINT_TO_POINTER (1)));

  /* Back to the conversations, which open as before. */
  click (find_widget (trash_view, has_name, "back"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (_rill_sidebar_get_pages (fx.window->sidebar)),
                   ==, "main");
}

static GtkWidget *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (window))
        return window;
    }
  return NULL;
}

static gboolean
dialog_shown (gpointer data)
{
  GtkWidget *dialog = find_dialog ();

  return dialog != NULL && gtk_widget_get_mapped (dialog);
}

static gboolean
file_has (const char *path,
          const char *needle)
{
  g_autofree char *bytes = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &bytes, &len, NULL))
    return FALSE;
  for (gsize i = 0; i + strlen (needle) <= len; i++)
    if (memcmp (bytes + i, needle, strlen (needle)) == 0)
      return TRUE;
  return FALSE;
}

static void
test_trash_empty (void)
{
  const char *tokens[] = { "Noted: ", TRASH_MARKER, " lives in a lagoon", NULL };
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  RillStore *store;
  GtkWidget *dialog;
  gint64 id;

  setup ();
  route_tokens (tokens, 0);
  send_and_wait ("Remember the " TRASH_MARKER " for me");
  id = _rill_window_get_conversation_id (fx.window);
  store = rill_session_get_store (rill_application_get_session (fx.app));
  g_assert_true (rill_store_sync (store, 10000));
  g_assert_true (file_has (db, TRASH_MARKER) || file_has (wal, TRASH_MARKER));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.delete-conversation",
                                             NULL));
  open_trash ();
  wait_until (trash_has, GUINT_TO_POINTER (1), "the Trash lists it");

  click (find_widget (GTK_WIDGET (_rill_sidebar_get_trash_view (fx.window->sidebar)), has_name,
                      "empty-trash"));
  wait_until (dialog_shown, NULL, "Empty Trash asks first");
  dialog = find_dialog ();
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Empty Trash?");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)),
                            "cannot be undone"));
  /* Return answers the safe way. */
  g_assert_cmpstr (adw_message_dialog_get_default_response (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "cancel");
  click (find_widget (dialog, has_label, "_Empty Trash"));
  wait_until (trash_has, GUINT_TO_POINTER (0), "the Trash is empty");

  /* The erase, its merge, vacuum and checkpoint are done once the writer
   * has nothing queued. */
  g_assert_true (rill_store_sync (store, 30000));
  g_assert_null (deleted_at_of (id));
  g_assert_false (file_has (db, TRASH_MARKER));
  g_assert_false (file_has (wal, TRASH_MARKER));
  g_assert_false (file_has (db, "lives in a lagoon"));
  g_assert_false (file_has (wal, "lives in a lagoon"));
}

/* Start-up: only the primary instance opens the history, a history held
 * by another program is waited for with the window open, and a save that
 * fails says why. */

#define INSTANCE_MARKER "activated-again"

static guint instance_activations;

/* The app as a launcher starts it, unique on the (private) session bus: its
 * first activation sends a message; one handed over by a second start
 * leaves a marker file, so the test knows the hand-over arrived. */
static void
instance_activate_cb (GApplication *app)
{
  if (instance_activations++ == 0)
    {
      fx.window = RILL_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
      type_and_return ("Count");
    }
  else
    {
      g_autofree char *marker = g_build_filename (fx.data_home, INSTANCE_MARKER, NULL);

      g_assert_true (g_file_set_contents (marker, "", 0, NULL));
    }
}

static void
run_instance_child (void)
{
  g_autoptr(RillApplication) app = rill_application_new ();

  fx.data_home = g_strdup (g_getenv ("XDG_DATA_HOME"));
  g_signal_connect_after (app, "activate", G_CALLBACK (instance_activate_cb), NULL);
  exit (g_application_run (G_APPLICATION (app), 0, NULL));
}

/* A session bus of the scenario's own, for the children only: GApplication
 * finds the running instance there by its name, as on a desktop. */
static GSubprocess *
start_private_bus (char **address)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  GSubprocess *bus;

  bus = g_subprocess_launcher_spawn (launcher, &error, "dbus-daemon", "--session", "--nofork",
                                     "--print-address=1", NULL);
  g_assert_no_error (error);
  /* Its first line, once it listens. */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bus));
  *address = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*address);
  return bus;
}

static GSubprocess *
spawn_instance (const char *bus_address,
                gboolean   *done)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GError) error = NULL;
  const char *argv[] = { g_test_get_filename (G_TEST_BUILT, "test-window", NULL), NULL };
  GSubprocess *child;

  g_subprocess_launcher_setenv (launcher, "RILL_TEST_CHILD", "instance", TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  /* The private bus has no accessibility bus to offer. */
  g_subprocess_launcher_setenv (launcher, "GTK_A11Y", "none", TRUE);
  child = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_wait_async (child, NULL, wait_cb, done);
  return child;
}

typedef struct
{
  const char *db;
  const char *content;
  gboolean   *primary_done;  /* waiting ends early if the app exits */
} StoredReply;

static char *
stored_reply_column (const char *db,
                     const char *column)
{
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM messages WHERE role = 'assistant'"
                                          " ORDER BY id DESC LIMIT 1", column);

  return test_sql_try_text (db, sql);
}

/* The newest reply, read from the file by a connection of the test's own
 * (not the store, whose open would recover it), still streaming, with
 * exactly this text. */
static gboolean
stored_reply_streams (gpointer data)
{
  StoredReply *reply = data;
  g_autofree char *status = stored_reply_column (reply->db, "status");
  /* While it streams, the text is in its pieces (schema 5). */
  g_autofree char *content =
    stored_reply_column (reply->db,
                         "content || coalesce((SELECT group_concat(p.content, '')"
                         " FROM (SELECT content FROM message_pieces"
                         " WHERE message_id = messages.id ORDER BY seq) p), '')");

  if (reply->primary_done != NULL && *reply->primary_done)
    g_error ("the app exited while its reply streamed");
  return g_strcmp0 (status, "streaming") == 0 && g_strcmp0 (content, reply->content) == 0;
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

/* A second `rill` started while a reply streams hands its activation to
 * the running instance and exits, touching no row: the reply stays
 * "streaming", its checkpoints go on, and after a kill -9 what streamed
 * after the second start is stored. On a private session bus, so that
 * GApplication's uniqueness is the real one. */
static void
test_second_instance_mid_stream (void)
{
  g_autoptr(GSubprocess) bus = NULL;
  g_autofree char *bus_address = NULL;
  g_autoptr(GSubprocess) primary = NULL;
  g_autoptr(GSubprocess) second = NULL;
  g_autoptr(RillStore) store = NULL;
  g_autoptr(RillMessage) message = NULL;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  g_autofree char *marker = g_build_filename (fx.data_home, INSTANCE_MARKER, NULL);
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  g_autofree char *a = sse_token ("Hello");
  g_autofree char *b = sse_token (" world");
  g_autofree char *c = sse_token (" after the second start");
  gboolean primary_done = FALSE, second_done = FALSE;
  StoredReply before = { db, "Hello world", &primary_done };
  StoredReply after = { db, "Hello world after the second start", &primary_done };

  bus = start_private_bus (&bus_address);
  fixture_env ();
  rill_test_script_send (script, a, -1, 0);
  rill_test_script_send (script, b, -1, 0);
  rill_test_script_gate (script, "second");
  rill_test_script_send (script, c, -1, 0);
  rill_test_script_gate (script, "never");
  rill_test_server_route (fx.server, CHAT, script);

  primary = spawn_instance (bus_address, &primary_done);
  wait_until (stored_reply_streams, &before, "the primary's reply checkpointed");

  second = spawn_instance (bus_address, &second_done);
  wait_until (subprocess_done, &second_done, "the second start exits");
  g_assert_true (g_subprocess_get_if_exited (second));
  g_assert_cmpint (g_subprocess_get_exit_status (second), ==, 0);
  wait_until (file_exists, marker, "the running instance gets the second activation");
  g_assert_false (primary_done);
  g_assert_true (stored_reply_streams (&before));

  rill_test_server_open_gate (fx.server, "second");
  wait_until (stored_reply_streams, &after, "a checkpoint after the second start");

  g_subprocess_force_exit (primary);
  wait_until (subprocess_done, &primary_done, "the primary is killed");
  g_assert_true (g_subprocess_get_if_signaled (primary));

  store = open_db ();
  g_assert_cmpuint (rill_store_get_n_recovered (store), ==, 1);
  conversations = rill_store_list_conversations (store, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conversations->len, ==, 1);
  message = last_db_message (store,
                             rill_conversation_get_id (g_ptr_array_index (conversations, 0)));
  g_assert_cmpint (rill_message_get_status (message), ==, RILL_STATUS_INTERRUPTED);
  g_assert_cmpstr (rill_message_get_content (message), ==, after.content);
  g_subprocess_force_exit (bus);
}

/* The app as setup() starts it, without waiting for the history. */
static void
start_app_before_history (void)
{
  g_autoptr(GError) error = NULL;

  fixture_env ();
  fx.app = rill_application_new ();
  g_application_set_flags (G_APPLICATION (fx.app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (fx.app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (fx.app));
  fx.window = RILL_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (fx.app)));
  g_assert_nonnull (fx.window);
  g_object_add_weak_pointer (G_OBJECT (fx.window), (gpointer *) &fx.window);
}

static gboolean
banner_says (gpointer data)
{
  return gtk_revealer_get_reveal_child (fx.window->banner_revealer) &&
         strstr (gtk_label_get_text (fx.window->banner_label), data) != NULL;
}

static char *
db_text (const char *sql)
{
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);

  return test_sql_text (db, sql);
}

static gboolean
is_status_page (GtkWidget  *widget,
                const char *unused)
{
  return ADW_IS_STATUS_PAGE (widget);
}

/* Another program holds the history's write lock when Rill starts: the
 * window is on screen at once and says why there is no history yet; a
 * message sent meanwhile stays in the composer, and goes, saved, when the
 * lock goes; and the history is there after that. */
static void
test_locked_at_start (void)
{
  const char *tokens[] = { "Saved", " after", " the lock", NULL };
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  RillSession *session;
  RillStore *store;
  GtkWidget *welcome;
  sqlite3 *holder;

  store = rill_store_open (db, &error);
  g_assert_no_error (error);
  g_assert_true (rill_store_sync (store, 10000));
  g_assert_finalize_object (store);
  g_assert_cmpint (sqlite3_open (db, &holder), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);

  start_app_before_history ();
  session = rill_application_get_session (fx.app);
  route_tokens (tokens, 0);
  wait_until (window_mapped, NULL, "the window is on screen");
  g_assert_null (rill_session_get_store (session));

  wait_until (banner_says, (gpointer) "another program is using it",
              "the window says the history is held");
  g_assert_true (rill_session_get_store_waiting (session));
  welcome = find_widget (GTK_WIDGET (fx.window->conversation_view), is_status_page, NULL);
  g_assert_nonnull (welcome);
  g_assert_nonnull (strstr (adw_status_page_get_description (ADW_STATUS_PAGE (welcome)),
                            "another program is using it"));

  /* Sent while held: kept in the composer, in words, and not sent. */
  type_and_return ("Sent while held");
  text = composer_text ();
  g_assert_cmpstr (text, ==, "Sent while held");
  g_assert_true (banner_says ((gpointer) "will be sent"));
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 0);
  g_assert_null (rill_session_get_store (session));

  g_assert_cmpint (sqlite3_exec (holder, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (holder);

  wait_until (last_row_done, NULL, "the held message's reply finished");
  g_assert_nonnull (rill_session_get_store (session));
  g_assert_false (rill_session_get_store_waiting (session));
  g_assert_false (banner_says ((gpointer) "another program"));
  g_clear_pointer (&text, g_free);
  text = composer_text ();
  g_assert_cmpstr (text, ==, "");
  g_clear_pointer (&text, g_free);
  text = db_text ("SELECT group_concat(content, '|') FROM"
                  " (SELECT content FROM messages ORDER BY id)");
  g_assert_cmpstr (text, ==, "Sent while held|Saved after the lock");

  /* And after: the history works as ever. */
  wait_until (has_no_reply, NULL, "the window is idle");
  route_tokens (tokens, 0);
  type_and_return ("Sent after");
  wait_until (last_row_done, NULL, "the second reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_clear_pointer (&text, g_free);
  text = db_text ("SELECT group_concat(content, '|') FROM"
                  " (SELECT content FROM messages ORDER BY id)");
  g_assert_cmpstr (text, ==,
                   "Sent while held|Saved after the lock|Sent after|Saved after the lock");
  g_assert_cmpuint (g_list_model_get_n_items (rill_sidebar_get_conversations (fx.window->sidebar)),
                    ==, 1);
}

/* Not even the message can be saved: the banner gives that cause, not the
 * words of the final write that then has no row to write. */
static void
test_first_save_fails (void)
{
  const char *tokens[] = { "Never asked for", NULL };
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  const char *banner;

  setup ();
  route_tokens (tokens, 0);
  test_sql_exec (db, "CREATE TRIGGER refuse BEFORE INSERT ON messages"
                 " BEGIN SELECT RAISE(ABORT, 'the disk says no'); END");
  g_test_expect_message ("rill-core", G_LOG_LEVEL_WARNING, "*start was not saved*");
  type_and_return ("Keep me");
  wait_until (last_row_done, NULL, "the reply failed");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_test_assert_expected_messages ();

  banner = gtk_label_get_text (fx.window->banner_label);
  g_assert_true (gtk_revealer_get_reveal_child (fx.window->banner_revealer));
  g_assert_nonnull (strstr (banner, "Could not save the message"));
  g_assert_nonnull (strstr (banner, "the disk says no"));
  g_assert_null (strstr (banner, "start was not saved"));
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 0);
}

/* Servers side by side: an OpenAI-compatible server (fx.server, with
 * OPENAI_API_KEY) and an Ollama one, both named by the environment. */

static void
route_ollama (RillTestServer *server)
{
  const char *tokens[] = { "From ", "Ollama", NULL };
  g_autofree char *ndjson = rill_test_ollama_ndjson (tokens, "llama3");
  RillTestScript *tags = rill_test_script_new (200, "application/json");
  RillTestScript *chat = rill_test_script_new (200, "application/x-ndjson");

  rill_test_script_send (tags, "{\"models\":[{\"name\":\"llama3\"},{\"name\":\"qwen2.5\"}]}",
                         -1, 0);
  rill_test_server_route (server, "/api/tags", tags);
  rill_test_script_send (chat, ndjson, -1, 0);
  rill_test_server_route (server, "/api/chat", chat);
}

static void
setup_two_servers (const char *ollama_host)
{
  fixture_env ();
  g_setenv ("OPENAI_API_KEY", "sk-only-for-openai", TRUE);
  g_setenv ("OLLAMA_HOST", ollama_host, TRUE);
  start_app ();
  wait_until (window_mapped, NULL, "the window is on screen");
}

static GtkDropDown *
picker_dropdown (void)
{
  return GTK_DROP_DOWN (adw_bin_get_child (ADW_BIN (fx.window->model_picker)));
}

/* The position of @model from @server_id in the picker, or -1. */
static int
picker_position (const char *model,
                 const char *server_id)
{
  GListModel *choices = gtk_drop_down_get_model (picker_dropdown ());

  for (guint i = 0; i < g_list_model_get_n_items (choices); i++)
    {
      g_autoptr(RillModelChoice) choice = g_list_model_get_item (choices, i);

      if (g_strcmp0 (rill_model_choice_get_model (choice), model) == 0 &&
          g_strcmp0 (rill_model_choice_get_server_id (choice), server_id) == 0 &&
          rill_model_choice_get_error (choice) == NULL)
        return i;
    }
  return -1;
}

static gboolean
picker_lists (gpointer data)
{
  const char * const *wanted = data;

  for (guint i = 0; wanted[i]; i += 2)
    if (picker_position (wanted[i], wanted[i + 1]) < 0)
      return FALSE;
  return TRUE;
}

static void
choose (const char *model,
        const char *server_id)
{
  int position = picker_position (model, server_id);

  g_assert_cmpint (position, >=, 0);
  gtk_drop_down_set_selected (picker_dropdown (), position);
}

static gboolean
file_holds (const char *path,
            const char *text)
{
  g_autofree char *contents = NULL;
  gsize len, text_len = strlen (text);

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return FALSE;
  /* Binary: NULs anywhere. */
  for (gsize i = 0; i + text_len <= len; i++)
    if (memcmp (contents + i, text, text_len) == 0)
      return TRUE;
  return FALSE;
}

/* Both variables set: the picker lists both servers' models, choosing each
 * sends to its server, and OPENAI_API_KEY goes only to the OpenAI one. A
 * conversation on the Ollama server keeps going there after a restart,
 * although the OpenAI-compatible server is first; the key is in no file. */
static void
test_two_servers (void)
{
  const char *tokens[] = { "From ", "OpenAI", NULL };
  const char * const both[] = {
    "test-model", "env:OPENAI_BASE_URL", "llama3", "env:OLLAMA_HOST",
    "qwen2.5", "env:OLLAMA_HOST", NULL
  };
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  g_autofree char *server = NULL;
  g_autofree char *server_url = NULL;
  g_autoptr(RillTestServer) ollama = rill_test_server_new ();
  g_autofree char *selected = NULL;
  RillMessageRow *row;
  gint64 on_ollama, on_openai;

  route_ollama (ollama);
  setup_two_servers (rill_test_server_get_url (ollama));
  route_tokens (tokens, 0);
  wait_until (picker_lists, (gpointer) both, "both servers' models listed");
  /* The OpenAI-compatible server is first, and its model is the default. */
  g_assert_cmpint (picker_position ("test-model", "env:OPENAI_BASE_URL"), <,
                   picker_position ("llama3", "env:OLLAMA_HOST"));

  choose ("llama3", "env:OLLAMA_HOST");
  type_and_return ("Which server?");
  wait_until (last_row_done, NULL, "the Ollama reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  g_assert_cmpint (rill_message_row_get_status (row), ==, RILL_STATUS_COMPLETE);
  g_assert_cmpuint (rill_test_server_get_request_count (ollama, "/api/chat"), ==, 1);
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 0);
  g_assert_nonnull (strstr (rill_test_server_get_request_body (ollama, "/api/chat"),
                            "\"model\":\"llama3\""));
  g_assert_null (rill_test_server_get_request_header (ollama, "/api/chat", "Authorization"));
  g_assert_null (rill_test_server_get_request_header (ollama, "/api/tags", "Authorization"));
  g_assert_cmpstr (rill_test_server_get_request_header (fx.server, "/v1/models",
                                                        "Authorization"), ==,
                   "Bearer sk-only-for-openai");
  on_ollama = _rill_window_get_conversation_id (fx.window);
  {
    g_autofree char *query = g_strdup_printf ("SELECT server FROM conversations WHERE id = %"
                                              G_GINT64_FORMAT, on_ollama);
    g_autofree char *url_query = g_strdup_printf ("SELECT server_url FROM conversations"
                                                  " WHERE id = %" G_GINT64_FORMAT, on_ollama);

    server = test_sql_text (db, query);
    server_url = test_sql_text (db, url_query);
  }
  g_assert_cmpstr (server, ==, "env:OLLAMA_HOST");
  g_assert_cmpstr (server_url, ==, rill_test_server_get_url (ollama));

  /* A new conversation on the other server goes there. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-conversation",
                                             NULL));
  choose ("test-model", "env:OPENAI_BASE_URL");
  type_and_return ("And you?");
  wait_until (last_row_done, NULL, "the OpenAI reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  on_openai = _rill_window_get_conversation_id (fx.window);
  g_assert_cmpint (on_openai, !=, on_ollama);
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 1);
  g_assert_cmpuint (rill_test_server_get_request_count (ollama, "/api/chat"), ==, 1);
  g_assert_cmpstr (rill_test_server_get_request_header (fx.server, CHAT, "Authorization"), ==,
                   "Bearer sk-only-for-openai");

  /* After a restart, the Ollama conversation goes on on Ollama. */
  g_action_group_activate_action (G_ACTION_GROUP (fx.app), "quit", NULL);
  g_assert_null (fx.window);
  g_clear_object (&fx.app);
  start_app_as ("io.github.rill.Rill.Restarted");
  wait_until (window_mapped, NULL, "the window is on screen again");
  wait_until (picker_lists, (gpointer) both, "both servers' models listed again");
  rill_window_open_conversation (fx.window, on_ollama, 0);
  selected = rill_model_picker_dup_selected_server (fx.window->model_picker);
  g_assert_cmpstr (selected, ==, "env:OLLAMA_HOST");
  type_and_return ("Still Ollama?");
  wait_until (last_row_done, NULL, "the second Ollama reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_assert_cmpuint (rill_test_server_get_request_count (ollama, "/api/chat"), ==, 2);
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 1);
  g_assert_nonnull (strstr (rill_test_server_get_request_body (ollama, "/api/chat"),
                            "Still Ollama?"));

  /* The key from the environment was never written. */
  g_assert_false (file_holds (db, "sk-only-for-openai"));
  g_assert_false (file_holds (wal, "sk-only-for-openai"));
}

static gboolean
picker_shows_unreachable (gpointer data)
{
  GListModel *choices = gtk_drop_down_get_model (picker_dropdown ());

  for (guint i = 0; i < g_list_model_get_n_items (choices); i++)
    {
      g_autoptr(RillModelChoice) choice = g_list_model_get_item (choices, i);

      if (g_strcmp0 (rill_model_choice_get_server_id (choice), data) == 0 &&
          rill_model_choice_get_error (choice) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* The Ollama server refuses connections: the picker fills with the other
 * server's models and shows the refusing one as unreachable. A
 * conversation whose server is gone is not sent anywhere else: the banner
 * says so and the picker opens. */
static void
test_server_down (void)
{
  const char * const openai[] = { "test-model", "env:OPENAI_BASE_URL", NULL };
  g_autoptr(RillTestServer) gone = rill_test_server_new ();
  g_autofree char *gone_url = g_strdup (rill_test_server_get_url (gone));
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  const char *banner;
  gint64 id;

  /* Its port refuses from now on. */
  g_clear_pointer (&gone, rill_test_server_free);
  setup_two_servers (gone_url);
  wait_until (picker_lists, (gpointer) openai, "the working server's models listed");
  wait_until (picker_shows_unreachable, "env:OLLAMA_HOST", "the refusing server shown");

  /* A conversation left on a server that is no longer there. */
  id = test_create_conversation (rill_session_get_store (rill_application_get_session (fx.app)),
                                 "Old one");
  {
    g_autofree char *sql =
      g_strdup_printf ("UPDATE conversations SET model = 'old-model', server = 'removed-id',"
                       " server_url = 'http://192.0.2.1:8080' WHERE id = %" G_GINT64_FORMAT, id);

    test_sql_exec (db, sql);
  }
  rill_window_open_conversation (fx.window, id, 0);
  type_and_return ("Anyone?");
  banner = gtk_label_get_text (fx.window->banner_label);
  g_assert_true (gtk_revealer_get_reveal_child (fx.window->banner_revealer));
  g_assert_nonnull (strstr (banner, "http://192.0.2.1:8080"));
  g_assert_nonnull (strstr (banner, "gone or switched off"));
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 0);
  g_assert_null (rill_conversation_view_get_reply (fx.window->conversation_view));
}

static gboolean
asked (gpointer data)
{
  return rill_test_server_get_request_count (data, "/api/tags") > 0;
}

/* The Ollama server takes the request and never answers: the other
 * server's models are listed meanwhile, without waiting for it. */
static void
test_server_silent (void)
{
  const char * const openai[] = { "test-model", "env:OPENAI_BASE_URL", NULL };
  g_autoptr(RillTestServer) silent = rill_test_server_new ();
  RillTestScript *tags = rill_test_script_new (200, "application/json");

  rill_test_script_hang (tags);
  rill_test_server_route (silent, "/api/tags", tags);
  setup_two_servers (rill_test_server_get_url (silent));
  wait_until (asked, silent, "the silent server asked");
  wait_until (picker_lists, (gpointer) openai, "the working server's models listed");
  g_assert_false (picker_shows_unreachable ("env:OLLAMA_HOST"));
  g_assert_cmpint (picker_position ("llama3", "env:OLLAMA_HOST"), ==, -1);
  /* The model chosen is the working server's. */
  {
    g_autofree char *server = rill_model_picker_dup_selected_server (fx.window->model_picker);

    g_assert_cmpstr (server, ==, "env:OPENAI_BASE_URL");
  }
}

/* Preferences list every server: the environment's as such, kept into
 * the person's list without their key; "Test connection" says what
 * happened in words; names are shown as typed. */

static gboolean
has_tooltip (GtkWidget  *widget,
             const char *tooltip)
{
  return GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_widget_get_tooltip_text (widget), tooltip) == 0;
}

static GtkWidget *
server_row (GtkWidget  *prefs,
            const char *title)
{
  return find_widget (prefs, has_title, title);
}

static gboolean
subtitle_says (gpointer data)
{
  const char * const *what = data;
  GtkWidget *row = server_row ((GtkWidget *) what[0], what[1]);

  return row != NULL && strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                                what[2]) != NULL;
}

static gboolean
row_exists (gpointer data)
{
  const char * const *what = data;

  return server_row ((GtkWidget *) what[0], what[1]) != NULL;
}

static void
test_server_preferences (void)
{
  const char * const both[] = {
    "test-model", "env:OPENAI_BASE_URL", "llama3", "env:OLLAMA_HOST", NULL
  };
  g_autoptr(RillTestServer) ollama = rill_test_server_new ();
  RillTestScript *refused = rill_test_script_new (401, "application/json");
  RillSession *session;
  GtkWidget *prefs;
  GtkWidget *row;
  g_autoptr(GVariant) servers = NULL;
  g_autofree char *printed = NULL;
  g_autoptr(RillServer) odd = NULL;
  const char *kind, *url, *id;

  route_ollama (ollama);
  setup_two_servers (rill_test_server_get_url (ollama));
  wait_until (picker_lists, (gpointer) both, "both servers' models listed");
  session = rill_application_get_session (fx.app);
  prefs = GTK_WIDGET (rill_preferences_window_new (session));
  gtk_window_set_transient_for (GTK_WINDOW (prefs), GTK_WINDOW (fx.window));
  gtk_window_present (GTK_WINDOW (prefs));

  g_assert_nonnull (server_row (prefs, "From the environment (OPENAI_BASE_URL)"));
  row = server_row (prefs, "From the environment (OLLAMA_HOST)");
  g_assert_nonnull (row);

  /* Test connection, in words: the models counted, the key refused. */
  click (find_widget (row, has_tooltip, "Test connection"));
  {
    const char *what[] = { (const char *) prefs, "From the environment (OLLAMA_HOST)",
                           "2 models" };

    wait_until (subtitle_says, what, "the Ollama server tested");
  }
  rill_test_script_send (refused, "{\"error\":{\"message\":\"Incorrect API key\"}}", -1, 0);
  rill_test_server_route (fx.server, "/v1/models", refused);
  click (find_widget (server_row (prefs, "From the environment (OPENAI_BASE_URL)"), has_tooltip,
                      "Test connection"));
  {
    const char *what[] = { (const char *) prefs, "From the environment (OPENAI_BASE_URL)",
                           "The key was refused" };

    wait_until (subtitle_says, what, "the OpenAI server tested");
  }
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (
                                                           server_row (prefs,
                                                                       "From the environment "
                                                                       "(OPENAI_BASE_URL)"))),
                            "401"));

  /* Kept: copied into the list, address and kind only. */
  click (find_widget (server_row (prefs, "From the environment (OPENAI_BASE_URL)"), has_label,
                      "_Keep"));
  servers = g_settings_get_value (rill_session_get_settings (session), "servers");
  g_assert_cmpuint (g_variant_n_children (servers), ==, 1);
  g_variant_get_child (servers, 0, "(&s&s&s)", &id, &kind, &url);
  g_assert_cmpstr (kind, ==, "openai");
  g_assert_true (g_str_has_prefix (url, rill_test_server_get_url (fx.server)));
  printed = g_variant_print (servers, FALSE);
  g_assert_null (strstr (printed, "sk-only-for-openai"));
  {
    g_autofree char *title = g_strconcat (rill_test_server_get_url (fx.server), "/v1", NULL);
    const char *what[] = { (const char *) prefs, title };

    wait_until (row_exists, what, "the kept server listed");
  }

  /* A name with markup characters is shown as typed. */
  odd = rill_server_new (NULL, RILL_PROVIDER_OLLAMA, "http://127.0.0.1:9");
  g_free (odd->name);
  odd->name = g_strdup ("Mine & <yours>");
  odd->enabled = FALSE;
  rill_session_update_server (session, odd);
  {
    const char *what[] = { (const char *) prefs, "Mine & <yours>" };

    wait_until (row_exists, what, "the odd name listed");
  }
  gtk_window_destroy (GTK_WINDOW (prefs));
}

/* Attachments: a real PNG, a text file and a PDF attached to the real
 * composer and sent. The server gets the image as an image_url part whose
 * base64 is exactly the file's bytes, and the files' text with their
 * names; the database holds the same bytes; the composer is emptied; the
 * row shows a thumbnail and two chips, read back from the store; the
 * thumbnail opens the image, and Escape closes it. */

static gboolean
attachments_ready (gpointer data)
{
  return g_list_model_get_n_items (rill_composer_get_attachments (fx.window->composer))
         == GPOINTER_TO_UINT (data)
         && !rill_composer_get_loading_attachments (fx.window->composer);
}

static GtkWidget *
find_named (GtkWidget  *widget,
            const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_named (child, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
user_row_shows_attachments (gpointer data)
{
  RillMessageRow *row = rill_conversation_view_get_last_row (fx.window->conversation_view,
                                                             RILL_ROLE_USER);
  GtkWidget *box = row ? find_named (GTK_WIDGET (row), "attachments") : NULL;
  guint n = 0;

  if (box == NULL)
    return FALSE;
  for (GtkWidget *child = gtk_widget_get_first_child (box); child;
       child = gtk_widget_get_next_sibling (child))
    n++;
  return n == GPOINTER_TO_UINT (data);
}

static GtkWindow *
viewer_window (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (g_strcmp0 (gtk_widget_get_name (window), "rill-image-viewer") == 0
          && gtk_widget_get_visible (window))
        return GTK_WINDOW (window);
    }
  return NULL;
}

static gboolean
viewer_shown (gpointer data)
{
  return (viewer_window () != NULL) == GPOINTER_TO_INT (data);
}

static gboolean
copy_written (gpointer path)
{
  g_autofree char *contents = NULL;

  return g_file_get_contents (path, &contents, NULL, NULL) && g_str_equal (contents, "buy milk\n");
}

static void
test_attachments_sent (void)
{
  const char *tokens[] = { "A gradient", NULL };
  g_autofree char *dir = g_build_filename (fx.data_home, "files", NULL);
  g_autofree char *png_path = g_build_filename (dir, "photo.png", NULL);
  g_autofree char *txt_path = g_build_filename (dir, "notes.txt", NULL);
  g_autofree char *pdf_path = g_build_filename (dir, "report.pdf", NULL);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 40, 30);
  g_autoptr(GFile) png = g_file_new_for_path (png_path);
  g_autoptr(GFile) txt = g_file_new_for_path (txt_path);
  g_autoptr(GFile) pdf = g_file_new_for_path (pdf_path);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(RillStore) store = NULL;
  g_autoptr(RillMessage) user = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *png_data = NULL;
  g_autofree guchar *decoded = NULL;
  gsize png_len, decoded_len;
  cairo_surface_t *surface;
  cairo_t *cr;
  JsonObject *message;
  JsonArray *parts;
  const char *text = NULL;
  const char *url = NULL;
  RillMessageRow *row;
  GtkWidget *thumbnail;

  setup ();
  route_tokens (tokens, 0);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  gdk_pixbuf_fill (pixbuf, 0x3366ccff);
  gdk_pixbuf_save (pixbuf, png_path, "png", &error, NULL);
  g_assert_no_error (error);
  g_file_set_contents (txt_path, "buy milk\n", -1, &error);
  g_assert_no_error (error);
  surface = cairo_pdf_surface_create (pdf_path, 595, 842);
  cr = cairo_create (surface);
  cairo_set_font_size (cr, 14);
  cairo_move_to (cr, 72, 72);
  cairo_show_text (cr, "Quarterly report");
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  cairo_surface_destroy (surface);

  rill_composer_attach_file (fx.window->composer, png);
  rill_composer_attach_file (fx.window->composer, txt);
  rill_composer_attach_file (fx.window->composer, pdf);
  wait_until (attachments_ready, GUINT_TO_POINTER (3), "three files read");
  type_and_return ("What is in these?");
  wait_until (last_row_done, NULL, "the reply finished");
  g_assert_cmpuint (g_list_model_get_n_items (rill_composer_get_attachments (fx.window->composer)),
                    ==, 0);

  g_assert_true (json_parser_load_from_data (parser,
                                             rill_test_server_get_request_body (fx.server, CHAT),
                                             -1, &error));
  g_assert_no_error (error);
  message = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                  "messages"), 0);
  parts = json_object_get_array_member (message, "content");
  g_assert_cmpuint (json_array_get_length (parts), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *part = json_array_get_object_element (parts, i);

      if (g_str_equal (json_object_get_string_member (part, "type"), "text"))
        text = json_object_get_string_member (part, "text");
      else
        url = json_object_get_string_member (json_object_get_object_member (part, "image_url"),
                                             "url");
    }
  g_assert_nonnull (text);
  g_assert_true (g_str_has_prefix (text, "What is in these?\n\n"));
  g_assert_nonnull (strstr (text, "File: notes.txt\n```text\nbuy milk\n```\n"));
  g_assert_nonnull (strstr (text, "File: report.pdf (the text of a PDF)"));
  g_assert_nonnull (strstr (text, "Quarterly report"));
  g_assert_nonnull (url);
  g_assert_true (g_str_has_prefix (url, "data:image/png;base64,"));
  decoded = g_base64_decode (url + strlen ("data:image/png;base64,"), &decoded_len);
  g_assert_true (g_file_get_contents (png_path, &png_data, &png_len, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (decoded, decoded_len, png_data, png_len);

  /* Stored: the typed text, and the image's bytes as the file holds them. */
  store = open_db ();
  user = rill_store_get_message (store,
                                 rill_message_row_get_message_id (
                                   rill_conversation_view_get_last_row (
                                     fx.window->conversation_view, RILL_ROLE_USER)), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rill_message_get_content (user), ==, "What is in these?");
  stored = rill_store_list_attachments (store, rill_message_get_id (user), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stored->len, ==, 3);
  g_assert_cmpstr (((RillStoredAttachment *) stored->pdata[0])->name, ==, "photo.png");
  g_assert_cmpmem (g_bytes_get_data (((RillStoredAttachment *) stored->pdata[0])->data, NULL),
                   g_bytes_get_size (((RillStoredAttachment *) stored->pdata[0])->data),
                   png_data, png_len);
  /* With the image, its thumbnail (a JPEG: no transparency), at its own
   * size, not enlarged; what the row reads has no bytes. */
  {
    g_autoptr(GPtrArray) previews =
      rill_store_list_attachment_previews (store, rill_message_get_id (user), &error);
    RillStoredAttachment *photo;

    g_assert_no_error (error);
    g_assert_cmpuint (previews->len, ==, 3);
    photo = previews->pdata[0];
    g_assert_null (photo->data);
    g_assert_nonnull (photo->thumbnail);
    g_assert_cmpint (photo->thumbnail_width, ==, 40);
    g_assert_cmpint (photo->thumbnail_height, ==, 30);
    g_assert_cmpmem (g_bytes_get_data (photo->thumbnail, NULL), 3, "\xff\xd8\xff", 3);
    g_assert_null (((RillStoredAttachment *) previews->pdata[1])->thumbnail);
  }

  /* The row: a thumbnail and two chips; the thumbnail opens the viewer. */
  wait_until (user_row_shows_attachments, GUINT_TO_POINTER (3), "the row's attachments");
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_USER);
  /* Each in a cell of the flow box, which wraps them on a narrow window. */
  thumbnail = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (
                                              gtk_widget_get_first_child (
                                                find_named (GTK_WIDGET (row), "attachments"))));
  g_assert_true (GTK_IS_BUTTON (thumbnail));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (thumbnail), ==, "photo.png");
  g_signal_emit_by_name (thumbnail, "clicked");
  wait_until (viewer_shown, GINT_TO_POINTER (TRUE), "the viewer open");
  g_assert_cmpstr (gtk_window_get_title (viewer_window ()), ==, "photo.png");
  {
    GtkWidget *viewer = GTK_WIDGET (viewer_window ());
    g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (viewer);
    gboolean closed = FALSE;

    /* Save, in the header bar. */
    g_assert_nonnull (find_named (viewer, "save"));
    g_assert_cmpstr (gtk_widget_get_tooltip_text (find_named (viewer, "save")), ==, "Save");

    for (guint i = 0; i < g_list_model_get_n_items (controllers) && !closed; i++)
      {
        g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

        if (GTK_IS_SHORTCUT_CONTROLLER (controller))
          {
            g_autoptr(GtkShortcut) shortcut =
              g_list_model_get_item (G_LIST_MODEL (controller), 0);

            closed = gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, viewer,
                                                   NULL);
          }
      }
    g_assert_true (closed);
  }
  wait_until (viewer_shown, GINT_TO_POINTER (FALSE), "the viewer closed");

  /* The text file's chip opens it from a copy of the stored bytes in the
   * app's cache (a sandbox sees no other), or saves it. */
  {
    GtkWidget *chip = gtk_widget_get_next_sibling (gtk_widget_get_parent (thumbnail));
    GtkWidget *open = find_named (chip, "open");
    GtkWidget *save = find_named (chip, "save");
    RillStoredAttachment *notes = stored->pdata[1];
    g_autofree char *copy = _rill_attachment_open_path (notes->name, notes->sha256);
    g_autofree char *copied = NULL;
    gsize copied_len;

    g_assert_nonnull (open);
    g_assert_nonnull (save);
    g_assert_cmpstr (notes->name, ==, "notes.txt");
    g_assert_cmpstr (gtk_widget_get_tooltip_text (open), ==, "Open notes.txt");
    g_assert_cmpstr (gtk_widget_get_tooltip_text (save), ==, "Save notes.txt");
    g_assert_true (g_str_has_prefix (copy, g_get_user_cache_dir ()));
    g_assert_false (g_file_test (copy, G_FILE_TEST_EXISTS));
    g_signal_emit_by_name (open, "clicked");
    /* A new file is written in place: waited for whole. */
    wait_until (copy_written, copy, "the copy to open written");
    g_assert_true (g_file_get_contents (copy, &copied, &copied_len, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (copied, copied_len, "buy milk\n", strlen ("buy milk\n"));
  }
  test_rm_rf (dir);
}

/* A model that cannot see images: the reply fails in the server's words,
 * and the message stays with its image, on screen and stored. */
static void
test_attachments_refused (void)
{
  RillTestScript *script = rill_test_script_new (400, "application/json");
  g_autofree char *dir = g_build_filename (fx.data_home, "files", NULL);
  g_autofree char *png_path = g_build_filename (dir, "photo.png", NULL);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 16, 16);
  g_autoptr(GFile) png = g_file_new_for_path (png_path);
  g_autoptr(RillStore) store = NULL;
  g_autoptr(RillMessage) reply = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(GError) error = NULL;
  RillMessageRow *row;

  setup ();
  rill_test_script_send (script, "{\"error\":{\"message\":\"model does not support images\"}}",
                         -1, 0);
  rill_test_server_route (fx.server, CHAT, script);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  gdk_pixbuf_fill (pixbuf, 0xcc3333ff);
  gdk_pixbuf_save (pixbuf, png_path, "png", &error, NULL);
  g_assert_no_error (error);
  rill_composer_attach_file (fx.window->composer, png);
  wait_until (attachments_ready, GUINT_TO_POINTER (1), "the image read");
  type_and_return ("What is this?");
  wait_until (last_row_done, NULL, "the reply failed");

  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  g_assert_cmpint (rill_message_row_get_status (row), ==, RILL_STATUS_FAILED);
  g_assert_nonnull (strstr (gtk_label_get_text (fx.window->banner_label),
                            "model does not support images"));
  wait_until (user_row_shows_attachments, GUINT_TO_POINTER (1), "the image kept on screen");
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_USER);
  g_assert_cmpstr (rill_message_row_get_source (row), ==, "What is this?");

  store = open_db ();
  reply = last_db_message (store, _rill_window_get_conversation_id (fx.window));
  g_assert_cmpint (rill_message_get_status (reply), ==, RILL_STATUS_FAILED);
  g_assert_cmpstr (rill_message_get_error (reply), ==,
                   "HTTP 400 Bad Request: model does not support images");
  stored = rill_store_list_attachments (store, rill_message_row_get_message_id (row), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stored->len, ==, 1);
  g_assert_cmpstr (((RillStoredAttachment *) stored->pdata[0])->name, ==, "photo.png");
  test_rm_rf (dir);
}

/* Tools: a scripted model asks for the reference MCP server's tools */

/* mcp.json with the reference server, offered to new conversations; FALSE
 * (skipped, or failed when RILL_MCP_REQUIRED is set) without it. */
static gboolean
setup_tools (void)
{
  g_autofree char *script = test_mcp_everything_path (MCP_EVERYTHING_DIR);
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "rill", NULL);
  g_autofree char *path = g_build_filename (dir, "mcp.json", NULL);
  g_autofree char *json = NULL;

  if (!test_have_mcp_everything (MCP_EVERYTHING_DIR))
    return FALSE;
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  json = g_strdup_printf ("{\"mcpServers\": {\"everything\": {\"command\": \"%s\","
                          " \"args\": [\"%s\"]}}}", node, script);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  fixture_env ();
  start_app ();
  wait_until (window_mapped, NULL, "the window is on screen");
  g_settings_set_string (rill_session_get_settings (rill_application_get_session (fx.app)),
                         "default-tools", "{\"servers\": {\"everything\": {}}}");
  return TRUE;
}

/* An OpenAI-compatible stream asking for @tool with @arguments, the
 * argument text in two pieces, after a little text. */
static void
route_tool_call (const char *call_id,
                 const char *tool,
                 const char *arguments)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  /* Providers cut the argument text between characters, never inside one. */
  gsize half = g_utf8_find_prev_char (arguments, arguments + strlen (arguments) / 2 + 1) -
               arguments;
  g_autoptr(JsonNode) first = json_node_new (JSON_NODE_VALUE);
  g_autoptr(JsonNode) second = json_node_new (JSON_NODE_VALUE);
  g_autofree char *first_text = NULL;
  g_autofree char *second_text = NULL;
  g_autofree char *head = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *start = NULL;

  {
    g_autofree char *p1 = g_strndup (arguments, half);

    json_node_set_string (first, p1);
    json_node_set_string (second, arguments + half);
  }
  first_text = json_to_string (first, FALSE);
  second_text = json_to_string (second, FALSE);
  head = sse_token ("Let me look. ");
  start = g_strdup_printf ("data: {\"choices\":[{\"index\":0,\"delta\":"
                           "{\"tool_calls\":[{\"index\":0,\"id\":\"%s\",\"type\":\"function\","
                           "\"function\":{\"name\":\"%s\","
                           "\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
                           call_id, tool);
  a = g_strdup_printf ("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
                       "\"function\":{\"arguments\":%s}}]},\"finish_reason\":null}]}\n\n",
                       first_text);
  b = g_strdup_printf ("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
                       "\"function\":{\"arguments\":%s}}]},\"finish_reason\":null}]}\n\n",
                       second_text);
  rill_test_script_send (script, head, -1, 0);
  rill_test_script_send (script, start, -1, 0);
  rill_test_script_send (script, a, -1, 0);
  rill_test_script_send (script, b, -1, 0);
  rill_test_script_send (script, "data: {\"choices\":[{\"index\":0,\"delta\":{},"
                         "\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n", -1, 0);
  rill_test_server_route (fx.server, CHAT, script);
}

static RillToolCard *
last_card (void)
{
  GtkBox *box = _rill_conversation_view_get_messages_box (fx.window->conversation_view);

  for (GtkWidget *child = gtk_widget_get_last_child (GTK_WIDGET (box)); child != NULL;
       child = gtk_widget_get_prev_sibling (child))
    if (RILL_IS_TOOL_CARD (child))
      return RILL_TOOL_CARD (child);
  return NULL;
}

static gboolean
card_waiting (gpointer data)
{
  RillToolCard *card = last_card ();

  return card != NULL && rill_tool_card_get_waiting (card) &&
         gtk_widget_get_mapped (GTK_WIDGET (card));
}

static gboolean
card_written (gpointer data)
{
  RillToolCard *card = last_card ();
  RillToolStep *step = card ? rill_tool_card_get_step (card) : NULL;

  return step != NULL && rill_tool_step_get_state (step) == RILL_TOOL_STEP_DONE;
}

static gboolean
loop_idle (gpointer data)
{
  return has_no_reply (NULL) &&
         rill_conversation_view_get_tool_run (fx.window->conversation_view) == NULL &&
         !fx.window->collecting;
}

static gboolean
request_count_is (gpointer data)
{
  return rill_test_server_get_request_count (fx.server, CHAT) == GPOINTER_TO_UINT (data);
}

/* The visible button of @card whose accessible name is @name. */
static GtkWidget *
card_button (RillToolCard *card,
             const char   *name)
{
  GtkWidget *found = NULL;
  GtkWidget *stack[64];
  guint n = 0;

  stack[n++] = GTK_WIDGET (card);
  while (n > 0 && found == NULL)
    {
      GtkWidget *widget = stack[--n];

      /* The accessible names are the labels without the mnemonic. */
      if (GTK_IS_BUTTON (widget) && gtk_widget_is_visible (widget) &&
          gtk_button_get_label (GTK_BUTTON (widget)) != NULL)
        {
          g_autoptr(GString) label = g_string_new (gtk_button_get_label (GTK_BUTTON (widget)));

          g_string_replace (label, "_", "", 0);
          if (g_ascii_strcasecmp (label->str, name) == 0)
            found = widget;
        }
      for (GtkWidget *child = gtk_widget_get_first_child (widget); child && n < 64;
           child = gtk_widget_get_next_sibling (child))
        stack[n++] = child;
    }
  return found;
}

/* @expression of the tool rows of conversation @id, in order, joined by
 * commas. */
static char *
tool_rows (gint64      id,
           const char *expression)
{
  g_autofree char *sql = g_strdup_printf ("SELECT group_concat(%s, ',') FROM (SELECT * FROM"
                                          " messages WHERE conversation_id = %" G_GINT64_FORMAT
                                          " AND role = 'tool' ORDER BY id)", expression, id);

  return db_text (sql);
}

/* Allowed by the keyboard: the call runs on the real server, its result is
 * stored, and the next request carries it under the call's id, with the
 * call's argument text byte for byte; after a restart the card is read
 * back from the database. */
static void
test_tool_allow (void)
{
  static const char arguments[] = "{\"message\": \"hi 你好 \\\"quoted\\\"\"}";
  const char *final[] = { "It said ", "hi.", NULL };
  g_autofree char *tool_row = NULL;
  g_autofree char *calls = NULL;
  g_autofree char *echoed = NULL;
  RillToolCard *card;
  GtkWidget *focus;
  const char *body;
  gint64 id;

  if (!setup_tools ())
    return;
  route_tool_call ("call_echo_1", "echo", arguments);
  type_and_return ("Echo something");
  wait_until (card_waiting, NULL, "the call waits for approval");
  body = rill_test_server_get_request_body (fx.server, CHAT);
  g_assert_nonnull (strstr (body, "\"tools\""));
  g_assert_nonnull (strstr (body, "\"name\":\"echo\""));

  /* The keyboard is on Allow; Return activates it. */
  card = last_card ();
  focus = gtk_root_get_focus (GTK_ROOT (fx.window));
  g_assert_true (focus == card_button (card, "Allow"));
  g_assert_nonnull (card_button (card, "Deny"));
  g_assert_nonnull (card_button (card, "Always allow this tool"));
  route_tokens (final, 0);
  g_assert_true (gtk_widget_activate (focus));
  wait_until (request_count_is, GUINT_TO_POINTER (2), "the results went to the model");
  wait_until (loop_idle, NULL, "the loop ended");
  wait_until (last_row_done, NULL, "the answer is in");

  id = _rill_window_get_conversation_id (fx.window);
  tool_row = tool_rows (id, "role || '|' || status || '|' || tool_call_id || '|' || tool_server"
                        " || '|' || tool_name");
  g_assert_cmpstr (tool_row, ==, "tool|complete|call_echo_1|everything|echo");
  echoed = tool_rows (id, "content");
  g_assert_cmpstr (echoed, ==, "Echo: hi 你好 \"quoted\"");
  {
    g_autofree char *sql = g_strdup_printf ("SELECT json_extract(tool_calls, '$[0].arguments')"
                                            " FROM messages WHERE conversation_id = %"
                                            G_GINT64_FORMAT " AND tool_calls IS NOT NULL", id);

    calls = db_text (sql);
  }
  g_assert_cmpstr (calls, ==, arguments);

  /* The second request: the call, then its result, under the same id. */
  body = rill_test_server_get_request_body (fx.server, CHAT);
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonArray *messages;
    JsonObject *asked = NULL, *answered = NULL;

    g_assert_true (json_parser_load_from_data (parser, body, -1, NULL));
    messages = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                             "messages");
    for (guint i = 0; i < json_array_get_length (messages); i++)
      {
        JsonObject *m = json_array_get_object_element (messages, i);

        if (json_object_has_member (m, "tool_calls"))
          asked = m;
        if (g_strcmp0 (json_object_get_string_member (m, "role"), "tool") == 0)
          answered = m;
      }
    g_assert_nonnull (asked);
    g_assert_nonnull (answered);
    {
      JsonObject *call = json_array_get_object_element (
        json_object_get_array_member (asked, "tool_calls"), 0);
      JsonObject *function = json_object_get_object_member (call, "function");

      g_assert_cmpstr (json_object_get_string_member (call, "id"), ==, "call_echo_1");
      g_assert_cmpstr (json_object_get_string_member (function, "arguments"), ==, arguments);
    }
    g_assert_cmpstr (json_object_get_string_member (answered, "tool_call_id"), ==, "call_echo_1");
    g_assert_cmpstr (json_object_get_string_member (answered, "content"), ==, echoed);
  }

  /* After a restart the stored card shows the call and its result. */
  g_action_group_activate_action (G_ACTION_GROUP (fx.app), "quit", NULL);
  g_assert_null (fx.window);
  g_clear_object (&fx.app);
  start_app_as ("io.github.rill.Rill.Restarted");
  wait_until (window_mapped, NULL, "the window is on screen again");
  rill_window_open_conversation (fx.window, id, 0);
  card = last_card ();
  g_assert_nonnull (card);
  g_assert_false (rill_tool_card_get_waiting (card));
  g_assert_null (card_button (card, "Allow"));
}

/* Denied by a click: the model is told so and answers; then a call stopped
 * while it waits ends 'stopped', and Continue carries the loop on. */
static void
test_tool_deny_and_stop (void)
{
  const char *final[] = { "Understood.", NULL };
  g_autofree char *statuses = NULL;
  g_autofree char *denied = NULL;
  const char *body;
  gint64 id;

  if (!setup_tools ())
    return;
  route_tool_call ("call_deny", "echo", "{\"message\": \"no\"}");
  type_and_return ("Try it");
  wait_until (card_waiting, NULL, "the call waits for approval");
  route_tokens (final, 0);
  click (card_button (last_card (), "Deny"));
  wait_until (request_count_is, GUINT_TO_POINTER (2), "the refusal went to the model");
  wait_until (loop_idle, NULL, "the loop ended");
  wait_until (last_row_done, NULL, "the answer is in");
  id = _rill_window_get_conversation_id (fx.window);
  denied = tool_rows (id, "status || '|' || content");
  g_assert_true (g_str_has_prefix (denied, "denied|"));
  body = rill_test_server_get_request_body (fx.server, CHAT);
  g_assert_nonnull (strstr (body, "\"tool_call_id\":\"call_deny\""));

  /* Stop while the next call waits. */
  route_tool_call ("call_stop", "echo", "{\"message\": \"later\"}");
  type_and_return ("Again");
  wait_until (card_waiting, NULL, "the second call waits");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.stop", NULL));
  wait_until (loop_idle, NULL, "the loop stopped");
  wait_until (card_written, NULL, "the stopped call is written");
  {
    RillToolCard *card = last_card ();

    g_assert_false (rill_tool_card_get_waiting (card));
    statuses = tool_rows (id, "status");
    g_assert_cmpstr (statuses, ==, "denied,stopped");
    g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 3);

    /* Continue sends what was decided: the stopped call is answered. */
    route_tokens (final, 0);
    click (card_button (card, "Continue"));
  }
  wait_until (request_count_is, GUINT_TO_POINTER (4), "Continue asked the model");
  wait_until (loop_idle, NULL, "the loop ended again");
  body = rill_test_server_get_request_body (fx.server, CHAT);
  g_assert_nonnull (strstr (body, "\"tool_call_id\":\"call_stop\""));
}

/* A model that keeps asking stops at the step limit, saying why. */
static void
test_tool_step_limit (void)
{
  g_autofree char *statuses = NULL;
  gint64 id;

  if (!setup_tools ())
    return;
  g_settings_set_uint (rill_session_get_settings (rill_application_get_session (fx.app)),
                       "tool-step-limit", 2);
  g_settings_set_value (rill_session_get_settings (rill_application_get_session (fx.app)),
                        "always-allowed-tools",
                        g_variant_new_parsed ("[('everything', 'echo')]"));
  route_tool_call ("call_again", "echo", "{\"message\": \"more\"}");
  type_and_return ("Loop forever");
  wait_until (request_count_is, GUINT_TO_POINTER (3), "three replies were asked for");
  wait_until (loop_idle, NULL, "the loop stopped at the limit");
  g_assert_true (gtk_revealer_get_reveal_child (fx.window->banner_revealer));
  g_assert_nonnull (strstr (gtk_label_get_label (fx.window->banner_label), "2 steps"));
  id = _rill_window_get_conversation_id (fx.window);
  statuses = tool_rows (id, "status");
  g_assert_cmpstr (statuses, ==, "complete,complete,stopped");
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 3);
}

/* A crash while a call ran: the next start calls its row interrupted, the
 * card says so and offers Continue, and Continue answers the call with a
 * note that it was stopped, under its own id, so the model can go on. */
static void
test_tool_after_crash (void)
{
  const char *final[] = { "Carrying on.", NULL };
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  g_autofree char *sql = NULL;
  g_autofree char *status = NULL;
  RillStore *store;
  RillToolCard *card;
  const char *body;
  gint64 id;

  store = test_store_open (db);
  id = test_create_conversation (store, "Crashed mid-call");
  test_store_close (store);
  sql = g_strdup_printf (
    "UPDATE conversations SET tools = '{\"servers\": {\"everything\": {}}}' WHERE id = %1$"
    G_GINT64_FORMAT ";"
    "INSERT INTO messages (id, conversation_id, role, content, status, created_at, finished_at)"
    " VALUES (1001, %1$" G_GINT64_FORMAT ", 'user', 'Echo, then crash', 'complete', 1, 1);"
    "INSERT INTO messages (id, conversation_id, role, content, status, created_at, finished_at,"
    " parent_id, finish_reason, tool_calls) VALUES (1002, %1$" G_GINT64_FORMAT ", 'assistant',"
    " '', 'complete', 2, 2, 1001, 'tool_calls',"
    " '[{\"id\":\"call_crash\",\"name\":\"echo\",\"arguments\":\"{\\\"message\\\":\\\"x\\\"}\"}]');"
    "INSERT INTO messages (id, conversation_id, role, content, status, created_at, parent_id,"
    " tool_call_id, tool_server, tool_name) VALUES (1003, %1$" G_GINT64_FORMAT ", 'tool', '',"
    " 'streaming', 3, 1002, 'call_crash', 'everything', 'echo');"
    "UPDATE conversations SET shown_message_id = 1003 WHERE id = %1$" G_GINT64_FORMAT, id);
  test_sql_exec (db, sql);

  if (!setup_tools ())
    return;
  status = db_text ("SELECT status FROM messages WHERE id = 1003");
  g_assert_cmpstr (status, ==, "interrupted");
  rill_window_open_conversation (fx.window, id, 0);
  card = last_card ();
  g_assert_nonnull (card);
  g_assert_cmpint (rill_tool_card_get_message_id (card), ==, 1003);

  route_tokens (final, 0);
  click (card_button (card, "Continue"));
  wait_until (request_count_is, GUINT_TO_POINTER (1), "Continue asked the model");
  wait_until (loop_idle, NULL, "the loop ended");
  wait_until (last_row_done, NULL, "the answer is in");
  body = rill_test_server_get_request_body (fx.server, CHAT);
  g_assert_nonnull (strstr (body, "\"tool_call_id\":\"call_crash\""));
  g_assert_nonnull (strstr (body, "\"id\":\"call_crash\""));
  g_assert_nonnull (strstr (body, "\"name\":\"echo\""));
}

/* The limits come from the settings: a text file the default accepts is
 * refused once attachment-max-text-bytes is lower than its size, and the
 * history's image bound is the one history-images says. */
static gboolean
composer_says (gpointer data)
{
  const char *shown = gtk_label_get_label (_rill_composer_get_error_label (fx.window->composer));

  return strstr (shown, data) != NULL;
}

static void
test_attachment_settings (void)
{
  RillSession *session;
  GSettings *settings;
  g_autofree char *dir = g_build_filename (fx.data_home, "files", NULL);
  g_autofree char *path = g_build_filename (dir, "log.txt", NULL);
  g_autofree char *text = g_strnfill (4000, 'x');
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  RillReplyOptions options;

  setup ();
  session = rill_application_get_session (fx.app);
  settings = rill_session_get_settings (session);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);

  rill_composer_attach_file (fx.window->composer, file);
  wait_until (attachments_ready, GUINT_TO_POINTER (1), "the file read with the default limit");
  rill_composer_clear_attachments (fx.window->composer);

  g_settings_set_uint (settings, "attachment-max-text-bytes", 2048);
  rill_composer_attach_file (fx.window->composer, file);
  wait_until (composer_says, (gpointer) "log.txt is", "the file refused");
  g_assert_nonnull (strstr (gtk_label_get_label (
                              _rill_composer_get_error_label (fx.window->composer)),
                            "the limit for text files is"));
  g_assert_cmpuint (g_list_model_get_n_items (rill_composer_get_attachments (fx.window->composer)),
                    ==, 0);
  g_assert_null (_rill_composer_get_chip (fx.window->composer, 0));

  g_settings_set_uint (settings, "history-images", 2);
  rill_session_fill_reply_options (session, NULL, "m", &options);
  g_assert_cmpuint (options.history_image_limit, ==, 2);
  rill_reply_options_clear (&options);
  test_rm_rf (dir);
}

/* Editing a message that had files: the composer shows them as chips,
 * one is removed, and the new version goes with the other, its bytes
 * shared with the first version's; the first version keeps both. */
static void
test_edit_with_attachments (void)
{
  const char *tokens[] = { "Seen", NULL };
  g_autofree char *dir = g_build_filename (fx.data_home, "files", NULL);
  g_autofree char *png_path = g_build_filename (dir, "photo.png", NULL);
  g_autofree char *txt_path = g_build_filename (dir, "notes.txt", NULL);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 24, 24);
  g_autoptr(GFile) png = g_file_new_for_path (png_path);
  g_autoptr(GFile) txt = g_file_new_for_path (txt_path);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *png_data = NULL;
  g_autofree char *text = NULL;
  g_autofree char *copies = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *db = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  gsize png_len;
  JsonArray *sent;
  JsonArray *parts;

  setup ();
  route_tokens (tokens, 0);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  gdk_pixbuf_fill (pixbuf, 0x22aa66ff);
  gdk_pixbuf_save (pixbuf, png_path, "png", &error, NULL);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (png_path, &png_data, &png_len, &error));
  g_file_set_contents (txt_path, "buy milk\n", -1, &error);
  g_assert_no_error (error);

  rill_composer_attach_file (fx.window->composer, png);
  rill_composer_attach_file (fx.window->composer, txt);
  wait_until (attachments_ready, GUINT_TO_POINTER (2), "two files read");
  type_and_return ("Frist look");
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  /* The files the original goes with are the original ones. */
  test_rm_rf (dir);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.edit-last", NULL));
  text = composer_text ();
  g_assert_cmpstr (text, ==, "Frist look");
  wait_until (attachments_ready, GUINT_TO_POINTER (2), "the message's files in the composer");
  g_assert_cmpstr (rill_attachment_chip_get_name (_rill_composer_get_chip (fx.window->composer,
                                                                           0)), ==, "photo.png");
  g_assert_cmpstr (rill_attachment_chip_get_name (_rill_composer_get_chip (fx.window->composer,
                                                                           1)), ==, "notes.txt");
  g_signal_emit_by_name (_rill_attachment_chip_get_remove_button (
                           _rill_composer_get_chip (fx.window->composer, 1)), "clicked");
  wait_until (attachments_ready, GUINT_TO_POINTER (1), "the text file removed");
  type_and_return ("First look");
  wait_until (last_row_done, NULL, "the new reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_assert_null (_rill_composer_get_chip (fx.window->composer, 0));

  /* Sent: the new text and the image, the same bytes; not the file. */
  g_assert_true (json_parser_load_from_data (parser,
                                             rill_test_server_get_request_body (fx.server, CHAT),
                                             -1, &error));
  g_assert_no_error (error);
  sent = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                       "messages");
  g_assert_cmpuint (json_array_get_length (sent), ==, 1);
  parts = json_object_get_array_member (json_array_get_object_element (sent, 0), "content");
  g_assert_cmpuint (json_array_get_length (parts), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *part = json_array_get_object_element (parts, i);

      if (g_str_equal (json_object_get_string_member (part, "type"), "text"))
        g_assert_cmpstr (json_object_get_string_member (part, "text"), ==, "First look");
      else
        {
          const char *url = json_object_get_string_member (
            json_object_get_object_member (part, "image_url"), "url");
          g_autofree guchar *decoded = NULL;
          gsize decoded_len;

          g_assert_true (g_str_has_prefix (url, "data:image/png;base64,"));
          decoded = g_base64_decode (url + strlen ("data:image/png;base64,"), &decoded_len);
          g_assert_cmpmem (decoded, decoded_len, png_data, png_len);
        }
    }

  /* Stored: the new version with the image, the old one with both, and
   * the image's bytes once. */
  store = open_db ();
  messages = rill_store_list_messages (store, _rill_window_get_conversation_id (fx.window), NULL);
  g_assert_cmpuint (messages->len, ==, 4);
  g_assert_cmpstr (rill_message_get_content (g_ptr_array_index (messages, 2)), ==, "First look");
  first = rill_store_list_attachments (store, rill_message_get_id (messages->pdata[0]), &error);
  g_assert_no_error (error);
  second = rill_store_list_attachments (store, rill_message_get_id (messages->pdata[2]), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (first->len, ==, 2);
  g_assert_cmpuint (second->len, ==, 1);
  g_assert_cmpstr (((RillStoredAttachment *) second->pdata[0])->name, ==, "photo.png");
  g_assert_cmpstr (((RillStoredAttachment *) second->pdata[0])->sha256, ==,
                   ((RillStoredAttachment *) first->pdata[0])->sha256);
  g_assert_cmpmem (g_bytes_get_data (((RillStoredAttachment *) second->pdata[0])->data, NULL),
                   g_bytes_get_size (((RillStoredAttachment *) second->pdata[0])->data),
                   png_data, png_len);
  sql = g_strdup_printf ("SELECT count(*) FROM attachment_data WHERE sha256 = '%s'",
                         ((RillStoredAttachment *) first->pdata[0])->sha256);
  copies = test_sql_try_text (db, sql);
  g_assert_cmpstr (copies, ==, "1");
  /* The row of the new version shows its one image. */
  wait_until (user_row_shows_attachments, GUINT_TO_POINTER (1), "the new version's image");
}

/* An image stored before there were thumbnails (written straight into the
 * file, as by an older Rill): the row shows it at 96 px all the same, and
 * a thumbnail made from its bytes is written back, at most 192 px with
 * the ratio kept, so the next open reads only that. */

static gboolean
thumbnail_stored (gpointer sql)
{
  g_autofree char *path = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  g_autofree char *found = test_sql_try_text (path, sql);

  return g_strcmp0 (found, "192x48") == 0;
}

static void
test_attachment_thumbnail_late (void)
{
  g_autofree char *path = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 800, 200);
  g_autoptr(GError) error = NULL;
  g_autofree char *png = NULL;
  g_autofree char *sha = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *wait_sql = NULL;
  GString *hex = g_string_new (NULL);
  gsize png_len = 0;
  GtkWidget *thumbnail;
  GtkWidget *picture;
  RillMessageRow *row;
  int width, height;

  setup ();
  path = g_build_filename (fx.data_home, "rill", "history.db", NULL);
  gdk_pixbuf_fill (pixbuf, 0x993311ff);
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &png, &png_len, "png", &error, NULL));
  g_assert_no_error (error);
  sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) png, png_len);
  for (gsize i = 0; i < png_len; i++)
    g_string_append_printf (hex, "%02x", (guchar) png[i]);
  sql = g_strdup_printf ("INSERT INTO conversations (id, title, created_at, updated_at)"
                         " VALUES (4242, 'Old photo', 1, 1);"
                         "INSERT INTO messages (id, conversation_id, role, content, status,"
                         " created_at) VALUES (4242, 4242, 'user', 'An old one', 'complete', 1);"
                         "INSERT INTO attachment_data (sha256, data) VALUES ('%s', x'%s');"
                         "INSERT INTO attachments (message_id, name, mime_type, size, sha256,"
                         " created_at) VALUES (4242, 'old.png', 'image/png', %" G_GSIZE_FORMAT
                         ", '%s', 1)", sha, hex->str, png_len, sha);
  g_string_free (hex, TRUE);
  test_sql_exec (path, sql);

  rill_window_open_conversation (fx.window, 4242, 0);
  wait_until (user_row_shows_attachments, GUINT_TO_POINTER (1), "the old image's thumbnail");
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_USER);
  thumbnail = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (
                                              gtk_widget_get_first_child (
                                                find_named (GTK_WIDGET (row), "attachments"))));
  g_assert_true (GTK_IS_BUTTON (thumbnail));
  picture = gtk_button_get_child (GTK_BUTTON (thumbnail));
  gtk_widget_get_size_request (picture, &width, &height);
  g_assert_cmpint (width, ==, 96);
  g_assert_cmpint (height, ==, 24);

  wait_sql = g_strdup_printf ("SELECT width || 'x' || height FROM attachment_thumbnails"
                              " WHERE sha256 = '%s'", sha);
  wait_until (thumbnail_stored, wait_sql, "the thumbnail written back");
}

/* What a reply cost shows under it, quietly, and the same after a restart,
 * read from the database: the model and server, the time to the first
 * token and the tokens the server reported. */
static void
test_reply_cost (void)
{
  const char *tokens[] = { "Costs ", "little", NULL };
  g_autofree char *before = NULL;
  RillMessageRow *row;
  gint64 id;

  setup ();
  route_tokens (tokens, 0);
  type_and_return ("What does it cost?");
  wait_until (last_row_done, NULL, "the reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  g_assert_cmpint (rill_message_row_get_status (row), ==, RILL_STATUS_COMPLETE);
  g_assert_nonnull (_rill_message_row_get_cost_text (row));
  {
    /* No-break spaces keep each figure on one line; compared as spaces. */
    g_auto(GStrv) parts = g_strsplit (_rill_message_row_get_cost_text (row), "\u00a0", -1);

    before = g_strjoinv (" ", parts);
  }
  g_assert_true (g_str_has_prefix (before, "test-model — From the environment"));
  g_assert_nonnull (strstr (before, " s to first token"));
  g_assert_nonnull (strstr (before, "7 tokens in · 2 tokens out"));
  /* The user's message costs nothing shown. */
  g_assert_null (_rill_message_row_get_cost_text (
                   rill_conversation_view_get_last_row (fx.window->conversation_view,
                                                        RILL_ROLE_USER)));
  id = _rill_window_get_conversation_id (fx.window);

  g_action_group_activate_action (G_ACTION_GROUP (fx.app), "quit", NULL);
  g_assert_null (fx.window);
  g_clear_object (&fx.app);
  start_app_as ("io.github.rill.Rill.Restarted");
  wait_until (window_mapped, NULL, "the window is on screen again");
  rill_window_open_conversation (fx.window, id, 0);
  row = rill_conversation_view_get_last_row (fx.window->conversation_view, RILL_ROLE_ASSISTANT);
  g_assert_nonnull (row);
  wait_until ((TestCondition) gtk_widget_get_mapped, row, "the reply on screen");
  {
    g_auto(GStrv) parts = g_strsplit (_rill_message_row_get_cost_text (row), "\u00a0", -1);
    g_autofree char *after = g_strjoinv (" ", parts);

    g_assert_cmpstr (after, ==, before);
  }
}

/* Presets */

static gboolean
is_presets_page (GtkWidget  *widget,
                 const char *unused)
{
  return RILL_IS_PRESETS_PAGE (widget);
}

static gboolean
is_spin (GtkWidget  *widget,
         const char *unused)
{
  return GTK_IS_SPIN_BUTTON (widget);
}

static gboolean
has_entry_title (GtkWidget  *widget,
                 const char *title)
{
  return ADW_IS_ENTRY_ROW (widget) &&
         g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0;
}

/* The Preferences at their Presets page. */
static GtkWidget *
open_presets_page (GtkWidget **prefs)
{
  GtkWidget *page;

  *prefs = GTK_WIDGET (rill_preferences_window_new (
                         rill_application_get_session (fx.app)));
  gtk_window_set_transient_for (GTK_WINDOW (*prefs), GTK_WINDOW (fx.window));
  gtk_window_present (GTK_WINDOW (*prefs));
  page = find_widget (*prefs, is_presets_page, NULL);
  g_assert_nonnull (page);
  adw_preferences_window_set_visible_page (ADW_PREFERENCES_WINDOW (*prefs),
                                           ADW_PREFERENCES_PAGE (page));
  wait_until ((TestCondition) gtk_widget_get_mapped, page, "the presets page on screen");
  return page;
}

static void
fill_preset (GtkWidget  *page,
             const char *name,
             const char *prompt,
             double      temperature,
             double      history)
{
  GtkWidget *editor;

  if (name != NULL)
    gtk_editable_set_text (GTK_EDITABLE (find_widget (page, has_entry_title, "Name")), name);
  gtk_editable_set_text (GTK_EDITABLE (find_widget (page, has_entry_title, "System Prompt")),
                         prompt);
  editor = find_widget (page, has_title, "Temperature");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_widget (editor, is_spin, NULL)), temperature);
  editor = find_widget (page, has_title, "History Limit");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_widget (editor, is_spin, NULL)), history);
  click (find_widget (page, has_label, "_Save Preset"));
}

/* The last request to Ollama: its system prompt, temperature, model and
 * number of messages. */
static void
assert_sent (RillTestServer *ollama,
             const char     *prompt,
             double          temperature,
             guint           n_messages)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *body;
  JsonArray *messages;

  g_assert_true (json_parser_load_from_data (parser,
                                             rill_test_server_get_request_body (ollama,
                                                                                "/api/chat"),
                                             -1, NULL));
  body = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "llama3");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (
                                    json_object_get_object_member (body, "options"),
                                    "temperature"), temperature, 1e-9);
  messages = json_object_get_array_member (body, "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, n_messages);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0),
                                                  "role"), ==, "system");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0),
                                                  "content"), ==, prompt);
}

/* A preset made in Preferences starts a conversation that sends its system
 * prompt, temperature, history limit and model to its server, and goes on
 * doing so after the preset is edited; Ctrl+Shift+N starts from the edited
 * preset, the last one used. */
static void
test_presets (void)
{
  const char * const both[] = {
    "test-model", "env:OPENAI_BASE_URL", "llama3", "env:OLLAMA_HOST", NULL
  };
  g_autoptr(RillTestServer) ollama = rill_test_server_new ();
  g_autofree char *last = NULL;
  g_autofree char *server = NULL;
  g_auto(GStrv) accels = NULL;
  GtkWidget *prefs, *page;
  GSettings *settings;
  gint64 first, second;

  route_ollama (ollama);
  setup_two_servers (rill_test_server_get_url (ollama));
  settings = rill_session_get_settings (rill_application_get_session (fx.app));
  wait_until (picker_lists, (gpointer) both, "both servers' models listed");

  /* Made in Preferences: the model chosen from those Ollama lists. */
  page = open_presets_page (&prefs);
  click (find_widget (page, has_tooltip, "Add Preset"));
  g_assert_true (gtk_widget_activate_action (page, "presets.choose-model", "(ss)", "llama3",
                                             "env:OLLAMA_HOST"));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_widget (page, has_entry_title,
                                                                     "Model"))), ==, "llama3");
  fill_preset (page, "French", "Answer in French.", 0.3, 2);
  g_assert_nonnull (find_widget (page, has_title, "French"));
  gtk_window_destroy (GTK_WINDOW (prefs));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-from-preset", "s",
                                             "French"));
  server = rill_model_picker_dup_selected_server (fx.window->model_picker);
  g_assert_cmpstr (server, ==, "env:OLLAMA_HOST");
  type_and_return ("Bonjour ?");
  wait_until (last_row_done, NULL, "the first reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  first = _rill_window_get_conversation_id (fx.window);
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 0);
  assert_sent (ollama, "Answer in French.", 0.3, 2);
  last = g_settings_get_string (settings, "last-preset");
  g_assert_cmpstr (last, ==, "French");

  /* Edited: the conversation keeps its copy, and its history limit. */
  page = open_presets_page (&prefs);
  click (find_widget (find_widget (page, has_title, "French"), has_tooltip, "Edit"));
  fill_preset (page, NULL, "Answer in German.", 1.2, 0);
  gtk_window_destroy (GTK_WINDOW (prefs));
  type_and_return ("Encore ?");
  wait_until (last_row_done, NULL, "the second reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, first);
  g_assert_cmpuint (rill_test_server_get_request_count (ollama, "/api/chat"), ==, 2);
  /* Two messages: the reply before the question, which a history may not
   * open with, is left out with the rest; the preferences' 50 would send
   * all four. */
  assert_sent (ollama, "Answer in French.", 0.3, 2);

  /* Ctrl+Shift+N: the last preset, as it is now. */
  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fx.app),
                                                  "win.new-from-last-preset");
  g_assert_nonnull (accels[0]);
  {
    guint key;
    GdkModifierType mods;

    g_assert_true (gtk_accelerator_parse (accels[0], &key, &mods));
    g_assert_cmpuint (key, ==, GDK_KEY_n);
    g_assert_cmpuint (mods, ==, GDK_CONTROL_MASK | GDK_SHIFT_MASK);
  }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-from-last-preset",
                                             NULL));
  type_and_return ("Hallo?");
  wait_until (last_row_done, NULL, "the third reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  second = _rill_window_get_conversation_id (fx.window);
  g_assert_cmpint (second, !=, first);
  assert_sent (ollama, "Answer in German.", 1.2, 2);
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 0);

  /* Without a last preset, Ctrl+Shift+N is Ctrl+N. */
  g_settings_set_string (settings, "last-preset", "");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-from-last-preset",
                                             NULL));
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, 0);
  g_assert_null (fx.window->pending_preset);
  g_settings_reset (settings, "presets");
}

/* A new conversation starts with the model last chosen: not the model of
 * the conversation shown when it is started, and after a restart still the
 * one chosen last, on its server. */
static void
test_last_model (void)
{
  const char *tokens[] = { "From ", "OpenAI", NULL };
  const char * const both[] = {
    "test-model", "env:OPENAI_BASE_URL", "qwen2.5", "env:OLLAMA_HOST", NULL
  };
  g_autoptr(RillTestServer) ollama = rill_test_server_new ();
  g_autofree char *model = NULL;
  g_autofree char *server = NULL;
  gint64 on_openai;

  route_ollama (ollama);
  setup_two_servers (rill_test_server_get_url (ollama));
  route_tokens (tokens, 0);
  wait_until (picker_lists, (gpointer) both, "both servers' models listed");

  choose ("test-model", "env:OPENAI_BASE_URL");
  type_and_return ("First");
  wait_until (last_row_done, NULL, "the first reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  on_openai = _rill_window_get_conversation_id (fx.window);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-conversation",
                                             NULL));
  choose ("qwen2.5", "env:OLLAMA_HOST");
  type_and_return ("Second");
  wait_until (last_row_done, NULL, "the second reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");

  /* The OpenAI conversation shown, then a new one: the model chosen last. */
  rill_window_open_conversation (fx.window, on_openai, 0);
  model = rill_model_picker_dup_selected (fx.window->model_picker);
  g_assert_cmpstr (model, ==, "test-model");
  g_clear_pointer (&model, g_free);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx.window), "win.new-conversation",
                                             NULL));
  model = rill_model_picker_dup_selected (fx.window->model_picker);
  server = rill_model_picker_dup_selected_server (fx.window->model_picker);
  g_assert_cmpstr (model, ==, "qwen2.5");
  g_assert_cmpstr (server, ==, "env:OLLAMA_HOST");

  /* After a restart, the window's new conversation too. */
  g_action_group_activate_action (G_ACTION_GROUP (fx.app), "quit", NULL);
  g_assert_null (fx.window);
  g_clear_object (&fx.app);
  start_app_as ("io.github.rill.Rill.Restarted");
  wait_until (window_mapped, NULL, "the window is on screen again");
  wait_until (picker_lists, (gpointer) both, "both servers' models listed again");
  g_assert_cmpint (_rill_window_get_conversation_id (fx.window), ==, 0);
  g_clear_pointer (&model, g_free);
  g_clear_pointer (&server, g_free);
  model = rill_model_picker_dup_selected (fx.window->model_picker);
  server = rill_model_picker_dup_selected_server (fx.window->model_picker);
  g_assert_cmpstr (model, ==, "qwen2.5");
  g_assert_cmpstr (server, ==, "env:OLLAMA_HOST");
  type_and_return ("Third");
  wait_until (last_row_done, NULL, "the third reply finished");
  wait_until (has_no_reply, NULL, "the window is idle");
  g_assert_cmpuint (rill_test_server_get_request_count (ollama, "/api/chat"), ==, 2);
  g_assert_nonnull (strstr (rill_test_server_get_request_body (ollama, "/api/chat"),
                            "\"model\":\"qwen2.5\""));
  g_assert_cmpuint (rill_test_server_get_request_count (fx.server, CHAT), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  if (g_strcmp0 (g_getenv ("RILL_TEST_CHILD"), "instance") == 0)
    {
      /* The second-instance scenario's children: the real app, unique. */
      gtk_init ();
      run_instance_child ();
    }
  if (g_getenv ("RILL_TEST_CHILD") != NULL)
    {
      /* The SIGTERM scenario's child: the same environment, the real app. */
      fx.data_home = g_strdup (g_getenv ("XDG_DATA_HOME"));
      gtk_init ();
      run_child ();
    }

  /* GLib reads XDG_DATA_HOME once, and GTK's start already asks for it. */
  fx.data_home = g_dir_make_tmp ("rill-ui-XXXXXX", NULL);
  g_assert_nonnull (fx.data_home);
  g_setenv ("XDG_DATA_HOME", fx.data_home, TRUE);
  {
    g_autofree char *config_home = g_build_filename (fx.data_home, "config", NULL);

    /* mcp.json is read from here. */
    g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
    /* Where an attachment is written to be opened. */
    g_autofree char *cache = g_build_filename (fx.data_home, "cache", NULL);
    g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  }

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/window/send-with-return", test_send_with_return);
  g_test_add_func ("/window/shift-return", test_shift_return);
  g_test_add_func ("/window/stop-button", test_stop_button);
  g_test_add_func ("/window/escape", test_escape);
  g_test_add_func ("/window/close-mid-stream", test_close_mid_stream);
  g_test_add_func ("/window/quit-mid-stream", test_quit_mid_stream);
  g_test_add_func ("/window/sigterm-mid-stream", test_sigterm_mid_stream);
  g_test_add_func ("/window/error-banner", test_error_banner);
  g_test_add_func ("/window/error-mid-stream", test_error_mid_stream);
  g_test_add_func ("/window/search-chinese", test_search_chinese);
  g_test_add_func ("/window/offline-reopen", test_offline_reopen);
  g_test_add_func ("/window/regenerate", test_regenerate);
  g_test_add_func ("/window/continue", test_continue);
  g_test_add_func ("/window/edit-and-resend", test_edit_and_resend);
  g_test_add_func ("/window/delete-and-undo", test_delete_and_undo);
  g_test_add_func ("/window/long-reply-blocks", test_long_reply_blocks);
  g_test_add_func ("/window/follows-store", test_follows_store);
  g_test_add_func ("/window/upgrade-failed", test_upgrade_failed);
  g_test_add_func ("/window/versions", test_versions);
  g_test_add_func ("/window/markup-as-typed", test_markup_as_typed);
  g_test_add_func ("/window/search-versions", test_search_versions);
  g_test_add_func ("/window/trash-undo", test_trash_undo);
  g_test_add_func ("/window/trash-restore", test_trash_restore);
  g_test_add_func ("/window/trash-empty", test_trash_empty);
  g_test_add_func ("/window/second-instance-mid-stream", test_second_instance_mid_stream);
  g_test_add_func ("/window/locked-at-start", test_locked_at_start);
  g_test_add_func ("/window/first-save-fails", test_first_save_fails);
  g_test_add_func ("/window/two-servers", test_two_servers);
  g_test_add_func ("/window/server-down", test_server_down);
  g_test_add_func ("/window/server-silent", test_server_silent);
  g_test_add_func ("/window/server-preferences", test_server_preferences);
  g_test_add_func ("/window/attachments-sent", test_attachments_sent);
  g_test_add_func ("/window/attachment-thumbnail-late", test_attachment_thumbnail_late);
  g_test_add_func ("/window/attachments-refused", test_attachments_refused);
  g_test_add_func ("/window/tool-allow", test_tool_allow);
  g_test_add_func ("/window/tool-deny-and-stop", test_tool_deny_and_stop);
  g_test_add_func ("/window/tool-step-limit", test_tool_step_limit);
  g_test_add_func ("/window/tool-after-crash", test_tool_after_crash);
  g_test_add_func ("/window/attachment-settings", test_attachment_settings);
  g_test_add_func ("/window/edit-with-attachments", test_edit_with_attachments);
  g_test_add_func ("/window/reply-cost", test_reply_cost);
  g_test_add_func ("/window/presets", test_presets);
  g_test_add_func ("/window/last-model", test_last_model);

  return g_test_run ();
}
