/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-bench-ui: the window's frame budgets, measured on the real RillWindow
 * against an in-process SoupServer on 127.0.0.1, under Xvfb with
 * GSK_RENDERER=cairo.
 *
 * Frame intervals are the deltas of gdk_frame_clock_get_frame_time() at
 * "after-paint" of the window's frame clock, while a tick callback keeps the
 * clock running (so an idle frame is never counted as a slow one). Rows:
 *
 *   stream-2000 / stream-5000: tokens at 2,000 and 5,000 tok/s, against a
 *     plain GtkTextView given one gtk_text_buffer_insert per token at the
 *     same rate;
 *   burst: 20,000 tokens as fast as the server writes them; the time from
 *     its last chunk to the whole text on screen (shown text == content,
 *     and no block in view waiting as a placeholder);
 *   long-line: a 2 MiB reply with no newline, the longest frame while it
 *     streams, against one GtkTextView paragraph fed the same bytes;
 *   startup: process start to the window's first frame with 10,000
 *     conversations / 200,000 messages, against an empty history;
 *   memory: VmRSS with that history open, after a 20,000-token reply, and
 *     after each of 10 more (each in a new conversation);
 *   picker-400: a server listing 400 models: the time from asking to all
 *     400 rows in the model picker, and from typing into its search field
 *     to the filtered list painted;
 *   attach: a 12 MP JPEG attached in the composer, the longest frame while
 *     it is read and scaled (off the main thread) and its chip appears;
 *   open-images: opening a conversation of 20 exchanges whose questions
 *     carry a 1600 × 1200 JPEG each, until the thumbnails in view are
 *     painted, against the same conversation without images (medians of
 *     several opens, alternating, the thumbnails cached; and the first
 *     open of each, which reads the stored thumbnails, in several
 *     processes); then the first opens with images stored before there
 *     were thumbnails (schema 8), which decode the full images and write
 *     thumbnails back;
 *   memory-images: VmRSS before and after opening a conversation with 100
 *     such images and scrolling it from top to bottom and back, with the
 *     pixels the thumbnails hold beside what the full images would.
 *
 * Each row runs in a child process of its own (GLib reads XDG_DATA_HOME
 * once per process). Sizes are options (--help); --quick is a smoke run.
 * RILL_BENCH_TRACE=1 prints every frame interval and the burst's timeline
 * (first chunk, last chunk, last text read, shown); RILL_BENCH_NO_BASELINE=1
 * skips the baselines, for profiling. */

#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill-application.h"
#include "rill-attachment.h"
#include "rill-test-server.h"
#include "rill-composer-private.h"
#include "rill-conversation-view-private.h"
#include "rill-message-row-private.h"
#include "rill-model-picker.h"
#include "rill-sidebar-private.h"
#include "rill-window-private.h"

#define CHAT "/v1/chat/completions"
#define PACE_US 2000

static double opt_seconds = 10;
static int opt_burst_tokens = 20000;
static int opt_long_bytes = 2 * 1024 * 1024;
static int opt_code_lines = 20000;
static int opt_conversations = 10000;
static int opt_messages = 200000;
static int opt_streams = 10;
static int opt_startup_runs = 3;
static int opt_open_runs = 7;
static int opt_first_runs = 5;
static int opt_images = 100;
static int opt_conversation = 1;
static gboolean opt_quick = FALSE;
static char *opt_row = NULL;
static char *opt_only = NULL;

static gint64 process_start_us;

/* Statistics */

typedef struct
{
  double median, p99, max;
  guint  n;
} Stats;

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static Stats
stats_of (GArray *values)
{
  Stats s = { 0, 0, 0, values->len };

  if (values->len == 0)
    return s;
  g_array_sort (values, cmp_double);
  s.median = g_array_index (values, double, values->len / 2);
  s.p99 = g_array_index (values, double, MIN (values->len - 1, (values->len * 99 + 99) / 100 - 1));
  s.max = g_array_index (values, double, values->len - 1);
  return s;
}

static gsize
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmRSS:");
  return line ? strtoul (line + 6, NULL, 10) : 0;
}

/* Waiting */

typedef gboolean (*Condition) (gpointer data);

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
wait_until (Condition condition, gpointer data, guint timeout_s)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (timeout_s, timeout_cb, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return !timed_out;
}

/* Frames */

typedef struct
{
  GArray        *intervals; /* ms */
  gint64         last;
  gboolean       on;
  gulong         handler;
  guint          keep_alive;
  GtkWidget     *widget;
  GdkFrameClock *clock;
  /* Called at each after-paint, for the burst's "visible" moment. */
  void   (*painted)(gpointer data);
  gpointer painted_data;
} Frames;

static gboolean
keep_alive_cb (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
after_paint_cb (GdkFrameClock *clock, Frames *frames)
{
  gint64 now = gdk_frame_clock_get_frame_time (clock);

  if (frames->on && frames->last != 0)
    {
      double ms = (now - frames->last) / 1000.0;
      g_array_append_val (frames->intervals, ms);
      if (g_getenv ("RILL_BENCH_TRACE") != NULL)
        g_printerr ("frame %.1f ms at %.3f s\n", ms, now / 1e6);
    }
  frames->last = frames->on ? now : 0;
  if (frames->painted != NULL)
    frames->painted (frames->painted_data);
}

static void
frames_watch (Frames *frames, GtkWidget *toplevel)
{
  memset (frames, 0, sizeof *frames);
  frames->intervals = g_array_new (FALSE, FALSE, sizeof (double));
  frames->widget = toplevel;
  frames->clock = gtk_widget_get_frame_clock (toplevel);
  g_assert (frames->clock != NULL);
  frames->handler = g_signal_connect (frames->clock, "after-paint", G_CALLBACK (after_paint_cb),
                                      frames);
}

static void
frames_start (Frames *frames)
{
  g_array_set_size (frames->intervals, 0);
  frames->last = 0;
  frames->on = TRUE;
  frames->keep_alive = gtk_widget_add_tick_callback (frames->widget, keep_alive_cb, NULL, NULL);
}

static void
frames_stop (Frames *frames)
{
  frames->on = FALSE;
  if (frames->keep_alive != 0)
    gtk_widget_remove_tick_callback (frames->widget, frames->keep_alive);
  frames->keep_alive = 0;
}

static void
frames_clear (Frames *frames)
{
  frames_stop (frames);
  g_signal_handler_disconnect (frames->clock, frames->handler);
  g_array_unref (frames->intervals);
}

/* Tokens and streams */

static const char *words[] = {
  "the ", "river", " runs", " past", " old ", "mills", " and ", "quiet", " gard", "ens; ",
  "**bold**", " text", " with ", "`code`", " in ", "it, ", "中文", "字符 ", "then ", "more.",
};

/* Token @i of a reply: words, a paragraph break now and then, and a code
 * block every 400 tokens, like a model's answer. */
static const char *
token_at (guint i)
{
  if (i % 400 == 200)
    return "\n\n```c\nint main (void)\n{\n  return 0;\n}\n```\n\n";
  if (i % 60 == 59)
    return ".\n\n";
  return words[i % G_N_ELEMENTS (words)];
}

static void
append_sse_token (GString *out, const char *token)
{
  g_string_append (out, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
                   "\"model\":\"bench-model\","
                   "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
  for (const char *p = token; *p; p++)
    if (*p == '"' || *p == '\\')
      g_string_append_printf (out, "\\%c", *p);
    else if (*p == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *p);
  g_string_append (out, "\"},\"finish_reason\":null}]}\n\n");
}

static const char *sse_end =
  "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"bench-model\","
  "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
  "data: [DONE]\n\n";

/* A reply of @n_tokens from token_at(), @per_chunk tokens a chunk, a chunk
 * every @pace_us (0: as fast as the server goes). Sets @text to the reply. */
static RillTestScript *
make_stream (guint n_tokens, guint per_chunk, guint pace_us, GString *text)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  GString *chunk = g_string_new (NULL);

  if (pace_us > 0)
    rill_test_script_pace (script, pace_us);
  for (guint i = 0; i < n_tokens; i++)
    {
      append_sse_token (chunk, token_at (i));
      g_string_append (text, token_at (i));
      if ((i + 1) % per_chunk == 0 || i + 1 == n_tokens)
        {
          rill_test_script_send (script, chunk->str, chunk->len, 0);
          g_string_truncate (chunk, 0);
        }
    }
  rill_test_script_send (script, sse_end, -1, 0);
  g_string_free (chunk, TRUE);
  return script;
}

/* One line of @bytes with no newline: "abcdefg " tokens, @per_chunk a chunk. */
static RillTestScript *
make_long_line (gsize bytes, guint per_chunk, guint pace_us, GString *text)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  GString *chunk = g_string_new (NULL);
  guint n = bytes / 8;

  rill_test_script_pace (script, pace_us);
  for (guint i = 0; i < n; i++)
    {
      append_sse_token (chunk, "abcdefg ");
      g_string_append (text, "abcdefg ");
      if ((i + 1) % per_chunk == 0 || i + 1 == n)
        {
          rill_test_script_send (script, chunk->str, chunk->len, 0);
          g_string_truncate (chunk, 0);
        }
    }
  rill_test_script_send (script, sse_end, -1, 0);
  g_string_free (chunk, TRUE);
  return script;
}

/* A fenced Python block of @n_lines, a line a token, @per_chunk tokens a
 * chunk, a chunk every @pace_us: a model writing out a long file. */
static RillTestScript *
make_code_block (guint n_lines, guint per_chunk, guint pace_us, GString *text)
{
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  GString *chunk = g_string_new (NULL);

  rill_test_script_pace (script, pace_us);
  for (guint i = 0; i <= n_lines + 1; i++)
    {
      g_autofree char *line = NULL;

      if (i == 0)
        line = g_strdup ("Here it is:\n\n```python\n");
      else if (i == n_lines + 1)
        line = g_strdup ("```\n");
      else if (i % 10 == 1)
        line = g_strdup_printf ("def step_%u (river, \"mill\"):  # line %u\n", i, i);
      else
        line = g_strdup_printf ("    flow_%u = river.flow * %u + len ('%u')\n", i, i % 97, i);
      append_sse_token (chunk, line);
      g_string_append (text, line);
      if ((i + 1) % per_chunk == 0 || i == n_lines + 1)
        {
          rill_test_script_send (script, chunk->str, chunk->len, 0);
          g_string_truncate (chunk, 0);
        }
    }
  rill_test_script_send (script, sse_end, -1, 0);
  g_string_free (chunk, TRUE);
  return script;
}

/* The server: in this process, on a thread and main context of its own,
 * as a real server would be; sharing the window's main loop, its writes at
 * default priority would hold back the window's frames and be measured as
 * the window's. Calls into it run on its thread. */

typedef struct
{
  GMainContext *context;
  GMainLoop    *loop;
  GThread      *thread;
  GMutex        lock;
  GCond         cond;
} ServerThread;

static ServerThread st;

typedef struct
{
  void   (*func)(gpointer data);
  gpointer data;
  gboolean done;
} Call;

static gboolean
call_cb (gpointer user_data)
{
  Call *call = user_data;

  call->func (call->data);
  g_mutex_lock (&st.lock);
  call->done = TRUE;
  g_cond_broadcast (&st.cond);
  g_mutex_unlock (&st.lock);
  return G_SOURCE_REMOVE;
}

static void
server_call (void (*func)(gpointer data), gpointer data)
{
  Call call = { func, data, FALSE };

  g_main_context_invoke (st.context, call_cb, &call);
  g_mutex_lock (&st.lock);
  while (!call.done)
    g_cond_wait (&st.cond, &st.lock);
  g_mutex_unlock (&st.lock);
}

static gpointer
server_thread (gpointer data)
{
  g_main_context_push_thread_default (st.context);
  g_main_loop_run (st.loop);
  g_main_context_pop_thread_default (st.context);
  return NULL;
}

/* The app */

typedef struct
{
  RillTestServer  *server;
  RillApplication *app;
  RillWindow      *window;
  Frames           frames;
  gint64           first_frame_us;
} Rig;

static Rig rig;

static void
first_paint_cb (GdkFrameClock *clock, gpointer data)
{
  if (rig.first_frame_us == 0)
    rig.first_frame_us = g_get_monotonic_time ();
}

static gboolean
first_frame_done (gpointer data)
{
  return rig.first_frame_us != 0;
}

typedef struct
{
  const char     *path;
  RillTestScript *script;
} Route;

static void
route_cb (gpointer data)
{
  Route *route = data;

  rill_test_server_route (rig.server, route->path, route->script);
}

static void
route (const char *path, RillTestScript *script)
{
  Route r = { path, script };

  server_call (route_cb, &r);
}

static void
new_server_cb (gpointer data)
{
  rig.server = rill_test_server_new ();
}

typedef struct
{
  gsize  bytes;
  gint64 last_token_us;
  guint  n;
} Timeline;

static void
timeline_cb (gpointer data)
{
  Timeline *t = data;
  GArray *timeline = rill_test_server_get_timeline (rig.server, CHAT);

  t->bytes = rill_test_server_get_bytes_sent (rig.server, CHAT);
  t->n = timeline ? timeline->len : 0;
  /* The last chunk with a token: the one before the finish and [DONE]. */
  if (t->n >= 2 && g_array_index (timeline, RillTestTimelinePoint, t->n - 1).bytes == t->bytes)
    t->last_token_us = g_array_index (timeline, RillTestTimelinePoint, t->n - 2).time_us;
  else
    t->last_token_us = 0;
}

static gsize
bytes_sent (void)
{
  Timeline t;

  server_call (timeline_cb, &t);
  return t.bytes;
}

static void
start_app (void)
{
  RillTestScript *models = rill_test_script_new (200, "application/json");
  g_autofree char *url = NULL;
  g_autoptr(GError) error = NULL;

  st.context = g_main_context_new ();
  st.loop = g_main_loop_new (st.context, FALSE);
  st.thread = g_thread_new ("server", server_thread, NULL);
  server_call (new_server_cb, NULL);
  rill_test_script_send (models,
                         "{\"object\":\"list\","
                         "\"data\":[{\"id\":\"bench-model\",\"object\":\"model\"}]}",
                         -1, 0);
  route ("/v1/models", models);
  url = g_strconcat (rill_test_server_get_url (rig.server), "/v1", NULL);
  g_setenv ("OPENAI_BASE_URL", url, TRUE);
  g_unsetenv ("OPENAI_API_KEY");
  g_unsetenv ("OLLAMA_HOST");

  rig.app = rill_application_new ();
  g_application_set_flags (G_APPLICATION (rig.app), G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (rig.app), NULL, &error))
    g_error ("register: %s", error->message);
  g_application_activate (G_APPLICATION (rig.app));
  rig.window = RILL_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (rig.app)));
  g_assert (rig.window != NULL);
  gtk_widget_realize (GTK_WIDGET (rig.window));
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (rig.window)), "after-paint",
                    G_CALLBACK (first_paint_cb), NULL);
  if (!wait_until (first_frame_done, NULL, 60))
    g_error ("the window never painted");
}

/* The picker row: the server lists this many models. */
static void
route_many_models (guint n)
{
  RillTestScript *models = rill_test_script_new (200, "application/json");
  g_autoptr(GString) body = g_string_new ("{\"object\":\"list\",\"data\":[");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (body, "%s{\"id\":\"vendor-%u/model-%u-instruct:%ub\"}",
                            i ? "," : "", i % 37, i, i % 70 + 1);
  g_string_append (body, "]}");
  rill_test_script_send (models, body->str, body->len, 0);
  route ("/v1/models", models);
}

static gboolean
window_idle (gpointer data)
{
  return rill_conversation_view_get_reply (rig.window->conversation_view) == NULL &&
         !rig.window->creating;
}

static gboolean
reply_going (gpointer data)
{
  return rill_conversation_view_get_reply (rig.window->conversation_view) != NULL &&
         bytes_sent () > 0;
}

static void
send_message (const char *text)
{
  GtkTextView *text_view = _rill_composer_get_text_view (rig.window->composer);

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (text_view), text, -1);
  _rill_window_send (rig.window);
}

/* Rows (children) */

static void
result (const char *key, double value)
{
  g_print ("R %s %.3f\n", key, value);
}

static void
result_stats (const char *key, GArray *intervals)
{
  Stats s = stats_of (intervals);
  g_autofree char *a = g_strconcat (key, ".median", NULL);
  g_autofree char *b = g_strconcat (key, ".p99", NULL);
  g_autofree char *c = g_strconcat (key, ".max", NULL);
  g_autofree char *d = g_strconcat (key, ".n", NULL);

  result (a, s.median);
  result (b, s.p99);
  result (c, s.max);
  result (d, s.n);
}

/* A plain GtkTextView, the baseline: fed by a 1 ms timer with whatever is
 * due at @rate pieces a second, one insert per piece. */
typedef struct
{
  GtkTextBuffer *buffer;
  GtkTextView   *view;
  const char   **pieces;
  guint          n_pieces;
  guint          next;
  double         rate;
  gint64         start;
} Feed;

static gboolean
feed_cb (gpointer data)
{
  Feed *feed = data;
  guint due = MIN (feed->n_pieces,
                   (guint) ((g_get_monotonic_time () - feed->start) * feed->rate
                            / G_USEC_PER_SEC));
  GtkTextIter end;

  if (feed->next >= due)
    return feed->next < feed->n_pieces;
  for (; feed->next < due; feed->next++)
    {
      gtk_text_buffer_get_end_iter (feed->buffer, &end);
      gtk_text_buffer_insert (feed->buffer, &end, feed->pieces[feed->next], -1);
    }
  gtk_text_buffer_get_end_iter (feed->buffer, &end);
  gtk_text_view_scroll_to_iter (feed->view, &end, 0, FALSE, 0, 0);
  return feed->next < feed->n_pieces ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
feed_done (gpointer data)
{
  Feed *feed = data;
  return feed->next >= feed->n_pieces;
}

static void
run_baseline (const char *key, const char **pieces, guint n_pieces, double rate)
{
  if (g_getenv ("RILL_BENCH_NO_BASELINE") != NULL)
    return;
  {
    GtkWidget *window = gtk_window_new ();
    GtkWidget *scroller = gtk_scrolled_window_new ();
    GtkWidget *view = gtk_text_view_new ();
    int width, height;
    Frames frames;
    Feed feed = { 0 };

    gtk_window_get_default_size (GTK_WINDOW (rig.window), &width, &height);
    gtk_window_set_default_size (GTK_WINDOW (window), width, height);
    gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
    gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
    gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                    GTK_POLICY_AUTOMATIC);
    gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), view);
    gtk_window_set_child (GTK_WINDOW (window), scroller);
    gtk_window_present (GTK_WINDOW (window));
    gtk_widget_realize (window);
    rig.first_frame_us = 0;
    g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint",
                      G_CALLBACK (first_paint_cb), NULL);
    wait_until (first_frame_done, NULL, 30);

    feed.buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
    feed.view = GTK_TEXT_VIEW (view);
    feed.pieces = pieces;
    feed.n_pieces = n_pieces;
    feed.rate = rate;
    frames_watch (&frames, window);
    frames_start (&frames);
    feed.start = g_get_monotonic_time ();
    /* Below the frame clock's priority, as GDK's own idle work is: the feed
     * must not keep the view from drawing what it was given. */
    g_timeout_add_full (G_PRIORITY_DEFAULT_IDLE, 1, feed_cb, &feed, NULL);
    wait_until (feed_done, &feed, 600);
    /* The last insert on screen. */
    rig.first_frame_us = 0;
    wait_until (first_frame_done, NULL, 600);
    frames_stop (&frames);
    result_stats (key, frames.intervals);
    frames_clear (&frames);
    gtk_window_destroy (GTK_WINDOW (window));
  }
}

static void
run_window_stream (const char *key, RillTestScript *script, const char *expected_text,
                   double *tok_s, guint n_tokens)
{
  Frames *frames = &rig.frames;
  gint64 start, end;
  RillMessageRow *row;
  g_autofree char *shown = NULL;

  route (CHAT, script);
  frames_watch (frames, GTK_WIDGET (rig.window));
  send_message ("Go");
  if (!wait_until (reply_going, NULL, 60))
    g_error ("the reply never started");
  frames_start (frames);
  start = g_get_monotonic_time ();
  if (!wait_until (window_idle, NULL, 900))
    g_error ("the reply never finished");
  end = g_get_monotonic_time ();
  frames_stop (frames);
  result_stats (key, frames->intervals);
  frames_clear (frames);
  if (tok_s != NULL)
    *tok_s = n_tokens / ((end - start) / (double) G_USEC_PER_SEC);
  (void) end;

  row = rill_conversation_view_get_last_row (rig.window->conversation_view, RILL_ROLE_ASSISTANT);
  shown = _rill_message_row_dup_shown_text (row);
  if (g_strcmp0 (shown, expected_text) != 0)
    g_error ("%s: the window shows %zu bytes, the reply has %zu", key, strlen (shown),
             strlen (expected_text));
}

static void
row_stream (guint rate)
{
  guint per_chunk = MAX (1, rate * PACE_US / 1000000);
  guint n_tokens = (guint) (rate * opt_seconds);
  g_autoptr(GString) text = g_string_new (NULL);
  RillTestScript *script = make_stream (n_tokens, per_chunk, PACE_US, text);
  g_autoptr(GPtrArray) pieces = g_ptr_array_new ();
  double tok_s = 0;

  start_app ();
  run_window_stream ("rill", script, text->str, &tok_s, n_tokens);
  result ("rill.tok_s", tok_s);

  for (guint i = 0; i < n_tokens; i++)
    g_ptr_array_add (pieces, (gpointer) token_at (i));
  run_baseline ("base", (const char **) pieces->pdata, pieces->len, rate);
}

typedef struct
{
  RillMessageRow *row;
  const char     *expected;
  gsize           expected_len;
  gint64          visible_us;
  gint64          first_us;
  gint64          changed_us;
} Burst;

static void
burst_changed_cb (RillReply *reply, Burst *burst)
{
  burst->changed_us = g_get_monotonic_time ();
  if (burst->first_us == 0)
    burst->first_us = burst->changed_us;
}

static void
burst_painted (gpointer data)
{
  Burst *burst = data;
  RillMessageRow *row;

  if (burst->visible_us != 0 ||
      _rill_conversation_view_get_reply_row (rig.window->conversation_view) == NULL)
    {
      if (burst->visible_us == 0 &&
          (row = rill_conversation_view_get_last_row (rig.window->conversation_view,
                                                      RILL_ROLE_ASSISTANT)) != NULL &&
          strlen (rill_message_row_get_source (row)) == burst->expected_len)
        {
          g_autofree char *shown = _rill_message_row_dup_shown_text (row);
          if (g_str_equal (shown, burst->expected) && _rill_message_row_is_drawn (row))
            burst->visible_us = g_get_monotonic_time ();
        }
      return;
    }
  row = _rill_conversation_view_get_reply_row (rig.window->conversation_view);
  if (strlen (rill_message_row_get_source (row)) == burst->expected_len)
    {
      g_autofree char *shown = _rill_message_row_dup_shown_text (row);
      if (g_str_equal (shown, burst->expected) && _rill_message_row_is_drawn (row))
        burst->visible_us = g_get_monotonic_time ();
    }
}

static gboolean
burst_visible (gpointer data)
{
  return ((Burst *) data)->visible_us != 0 && window_idle (NULL);
}

/* Streams @n_tokens as fast as the server writes; returns the ms from the
 * last chunk written to the whole text shown. */
static double
one_burst (guint n_tokens, GArray *intervals)
{
  g_autoptr(GString) text = g_string_new (NULL);
  RillTestScript *script = make_stream (n_tokens, 1, 0, text);
  Burst burst = { NULL, text->str, text->len, 0, 0, 0 };
  Timeline t;

  route (CHAT, script);
  frames_watch (&rig.frames, GTK_WIDGET (rig.window));
  rig.frames.painted = burst_painted;
  rig.frames.painted_data = &burst;
  send_message ("Burst");
  wait_until (reply_going, NULL, 60);
  if (g_getenv ("RILL_BENCH_TRACE") != NULL)
    {
      RillMessageRow *reply_row =
        _rill_conversation_view_get_reply_row (rig.window->conversation_view);

      g_signal_connect (rill_message_row_get_reply (reply_row), "changed",
                        G_CALLBACK (burst_changed_cb), &burst);
    }
  frames_start (&rig.frames);
  if (!wait_until (burst_visible, &burst, 600))
    g_error ("the burst never showed whole");
  frames_stop (&rig.frames);
  if (intervals != NULL)
    g_array_append_vals (intervals, rig.frames.intervals->data, rig.frames.intervals->len);
  frames_clear (&rig.frames);

  do
    server_call (timeline_cb, &t);
  while (t.last_token_us == 0);
  if (g_getenv ("RILL_BENCH_TRACE") != NULL)
    g_printerr ("burst: first chunk %.3f s, last token %.3f s, "
                "last change %.3f s, visible %.3f s\n",
                burst.first_us / 1e6, t.last_token_us / 1e6,
                burst.changed_us / 1e6, burst.visible_us / 1e6);
  return (burst.visible_us - t.last_token_us) / 1000.0;
}

static void
row_burst (void)
{
  g_autoptr(GArray) intervals = g_array_new (FALSE, FALSE, sizeof (double));

  start_app ();
  result ("visible_ms", one_burst (opt_burst_tokens, intervals));
  result_stats ("rill", intervals);
}

static void
row_long_line (void)
{
  guint per_chunk = 128;   /* 1 KiB a chunk, a chunk every 2 ms: 512 KiB/s */
  g_autoptr(GString) text = g_string_new (NULL);
  RillTestScript *script = make_long_line (opt_long_bytes, per_chunk, PACE_US, text);
  g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);

  start_app ();
  run_window_stream ("rill", script, text->str, NULL, 0);
  for (gsize i = 0; i < text->len; i += per_chunk * 8)
    g_ptr_array_add (pieces, g_strndup (text->str + i, MIN (per_chunk * 8, text->len - i)));
  run_baseline ("base", (const char **) pieces->pdata, pieces->len,
                G_USEC_PER_SEC / (double) PACE_US);
}

/* A 20,000-line code block streaming in at 2,000 lines a second: every
 * finished piece becomes a highlighted GtkSourceView, once. */
static void
row_code_block (void)
{
  guint per_chunk = MAX (1, 2000 * PACE_US / 1000000);
  g_autoptr(GString) text = g_string_new (NULL);
  RillTestScript *script = make_code_block (opt_code_lines, per_chunk, PACE_US, text);

  start_app ();
  run_window_stream ("rill", script, text->str, NULL, 0);
}

static void
row_startup (void)
{
  GListModel *conversations;

  start_app ();
  result ("first_frame_ms", (rig.first_frame_us - process_start_us) / 1000.0);
  conversations = G_LIST_MODEL (rill_sidebar_get_conversations (rig.window->sidebar));
  result ("conversations", g_list_model_get_n_items (conversations));
}

static void
row_memory (void)
{
  start_app ();
  result ("rss_open", rss_kib ());
  one_burst (opt_burst_tokens, NULL);
  result ("rss_first", rss_kib ());
  for (int i = 0; i < opt_streams; i++)
    {
      g_autofree char *key = g_strdup_printf ("rss_%d", i + 1);

      g_assert (gtk_widget_activate_action (GTK_WIDGET (rig.window), "win.new-conversation", NULL));
      one_burst (opt_burst_tokens, NULL);
      result (key, rss_kib ());
    }
}

static GtkDropDown *
picker_dropdown (void)
{
  return GTK_DROP_DOWN (adw_bin_get_child (ADW_BIN (rig.window->model_picker)));
}

static gboolean
picker_holds (gpointer data)
{
  return g_list_model_get_n_items (gtk_drop_down_get_model (picker_dropdown ())) >=
         GPOINTER_TO_UINT (data);
}

static GtkWidget *
find_search_entry (GtkWidget *root)
{
  if (GTK_IS_SEARCH_ENTRY (root))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_search_entry (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gint64 picker_painted_us;

static gboolean
widget_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

static void
picker_paint_cb (GdkFrameClock *clock, gpointer data)
{
  if (picker_painted_us == 0)
    picker_painted_us = g_get_monotonic_time ();
}

static gboolean
picker_painted (gpointer data)
{
  return picker_painted_us != 0;
}

/* 400 models from one server: listed, then filtered as one types. */
static void
row_picker (void)
{
  guint n = 400;
  RillSession *session;
  GtkWidget *entry;
  GtkWidget *popover;
  GdkFrameClock *clock;
  gint64 start;
  gulong id;

  start_app ();
  session = rill_application_get_session (rig.app);
  if (!wait_until (picker_holds, GUINT_TO_POINTER (1), 30))
    g_error ("the first list never came");
  route_many_models (n);
  start = g_get_monotonic_time ();
  rill_session_reload_provider (session);
  if (!wait_until (picker_holds, GUINT_TO_POINTER (n), 30))
    g_error ("the %u models never came", n);
  result ("fill_ms", (g_get_monotonic_time () - start) / 1000.0);

  rill_model_picker_popup (rig.window->model_picker);
  entry = find_search_entry (GTK_WIDGET (picker_dropdown ()));
  if (entry == NULL)
    g_error ("the picker has no search field");
  popover = gtk_widget_get_ancestor (entry, GTK_TYPE_POPOVER);
  if (popover == NULL || !wait_until (widget_mapped, popover, 30))
    g_error ("the picker's list never opened");
  clock = gtk_widget_get_frame_clock (popover);
  id = g_signal_connect (clock, "after-paint", G_CALLBACK (picker_paint_cb), NULL);
  start = g_get_monotonic_time ();
  gtk_editable_set_text (GTK_EDITABLE (entry), "model-3");
  if (!wait_until (picker_painted, NULL, 30))
    g_error ("the filtered list was never painted");
  result ("filter_ms", (picker_painted_us - start) / 1000.0);
  g_signal_handler_disconnect (clock, id);
}

static gboolean
attachment_read (gpointer data)
{
  return !rill_composer_get_loading_attachments (rig.window->composer);
}

static gboolean
frames_past (gpointer data)
{
  return rig.frames.intervals->len > GPOINTER_TO_UINT (data);
}

/* A 12 MP photo: read, decoded to 2,048 px, encoded and thumbnailed on a
 * worker thread; the main loop only makes the chip and draws. */
static void
row_attach (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rill-bench-attach-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "photo.jpg", NULL);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 4000, 3000);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  gint64 start;

  for (int y = 0; y < 3000; y++)
    for (int x = 0; x < 4000 * 3; x++)
      pixels[y * stride + x] = (x * 7 + y * 13 + (x ^ y)) & 0xff;
  if (!gdk_pixbuf_save (pixbuf, path, "jpeg", &error, "quality", "92", NULL))
    g_error ("%s", error->message);

  start_app ();
  frames_watch (&rig.frames, GTK_WIDGET (rig.window));
  frames_start (&rig.frames);
  start = g_get_monotonic_time ();
  rill_composer_attach_file (rig.window->composer, file);
  if (!wait_until (attachment_read, NULL, 120))
    g_error ("the photo was never read");
  result ("read_ms", (g_get_monotonic_time () - start) / 1000.0);
  /* Two more: the frame that shows the chip with its thumbnail. */
  wait_until (frames_past, GUINT_TO_POINTER (rig.frames.intervals->len + 2), 5);
  frames_stop (&rig.frames);
  result_stats ("rill", rig.frames.intervals);
  frames_clear (&rig.frames);
  g_unlink (path);
  g_rmdir (dir);
}

/* Conversations with images: written straight into the file (as another
 * tool could), each image a distinct 1600 × 1200 JPEG, with the thumbnail
 * Rill stores with it when @thumbnails (else as stored before schema 9).
 * Conversation 1 has @n exchanges whose questions carry an image each;
 * with @plain_too, conversation 2 has the same exchanges without them. */

#define IMAGE_WIDTH 1600
#define IMAGE_HEIGHT 1200

static GBytes *
make_jpeg (guint i)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, IMAGE_WIDTH,
                                                IMAGE_HEIGHT);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  g_autoptr(GError) error = NULL;
  gchar *buffer = NULL;
  gsize size = 0;

  for (int y = 0; y < IMAGE_HEIGHT; y++)
    for (int x = 0; x < IMAGE_WIDTH * 3; x++)
      pixels[y * stride + x] = (x * (3 + i % 5) + y * (7 + i % 11) + ((x ^ y) & 0x1f)) & 0xff;
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "jpeg", &error, "quality", "90", NULL))
    g_error ("%s", error->message);
  return g_bytes_new_take (buffer, size);
}

static void
exec_sql (sqlite3 *db, const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static void
insert_exchanges (sqlite3 *db, gint64 conversation_id, guint n, gboolean images,
                  gboolean thumbnails, gint64 *next_id)
{
  sqlite3_stmt *message = NULL, *data = NULL, *attachment = NULL, *thumbnail = NULL;
  gint64 parent = 0;

  sqlite3_prepare_v2 (db, "INSERT INTO messages (id, conversation_id, role, content, status,"
                      " model, created_at, finished_at, parent_id)"
                      " VALUES (?1, ?2, ?3, ?4, 'complete', 'bench-model', ?1, ?1, ?5)", -1,
                      &message, NULL);
  sqlite3_prepare_v2 (db, "INSERT OR IGNORE INTO attachment_data (sha256, data) VALUES (?1, ?2)",
                      -1, &data, NULL);
  sqlite3_prepare_v2 (db, "INSERT INTO attachments (message_id, name, mime_type, size, sha256,"
                      " created_at) VALUES (?1, ?2, 'image/jpeg', ?3, ?4, 0)", -1,
                      &attachment, NULL);
  sqlite3_prepare_v2 (db, "INSERT OR IGNORE INTO attachment_thumbnails (sha256, width, height,"
                      " data) VALUES (?1, ?2, ?3, ?4)", -1, &thumbnail, NULL);
  for (guint i = 0; i < 2 * n; i++)
    {
      gint64 id = (*next_id)++;
      g_autofree char *content = i % 2 == 0
        ? g_strdup_printf ("Question %u: what do you see in this picture of the river?", i / 2)
        : g_strdup_printf ("Answer %u: the river runs past **old mills** and quiet gardens,\n\n"
                           "- with `code`\n- and 中文字符 in it.", i / 2);

      sqlite3_bind_int64 (message, 1, id);
      sqlite3_bind_int64 (message, 2, conversation_id);
      sqlite3_bind_text (message, 3, i % 2 == 0 ? "user" : "assistant", -1, SQLITE_STATIC);
      sqlite3_bind_text (message, 4, content, -1, SQLITE_TRANSIENT);
      if (parent != 0)
        sqlite3_bind_int64 (message, 5, parent);
      else
        sqlite3_bind_null (message, 5);
      if (sqlite3_step (message) != SQLITE_DONE)
        g_error ("insert: %s", sqlite3_errmsg (db));
      sqlite3_reset (message);
      parent = id;
      if (images && i % 2 == 0)
        {
          g_autoptr(GBytes) jpeg = make_jpeg (i / 2);
          g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, jpeg);
          g_autofree char *name = g_strdup_printf ("river-%03u.jpg", i / 2);

          sqlite3_bind_text (data, 1, sha, -1, SQLITE_TRANSIENT);
          sqlite3_bind_blob (data, 2, g_bytes_get_data (jpeg, NULL), g_bytes_get_size (jpeg),
                             SQLITE_TRANSIENT);
          if (sqlite3_step (data) != SQLITE_DONE)
            g_error ("insert: %s", sqlite3_errmsg (db));
          sqlite3_reset (data);
          sqlite3_bind_int64 (attachment, 1, id);
          sqlite3_bind_text (attachment, 2, name, -1, SQLITE_TRANSIENT);
          sqlite3_bind_int64 (attachment, 3, g_bytes_get_size (jpeg));
          sqlite3_bind_text (attachment, 4, sha, -1, SQLITE_TRANSIENT);
          if (sqlite3_step (attachment) != SQLITE_DONE)
            g_error ("insert: %s", sqlite3_errmsg (db));
          sqlite3_reset (attachment);
          if (thumbnails)
            {
              guint width, height;
              g_autoptr(GBytes) small = rill_attachment_make_stored_thumbnail (jpeg, NULL, &width,
                                                                               &height, NULL);

              sqlite3_bind_text (thumbnail, 1, sha, -1, SQLITE_TRANSIENT);
              sqlite3_bind_int (thumbnail, 2, width);
              sqlite3_bind_int (thumbnail, 3, height);
              sqlite3_bind_blob (thumbnail, 4, g_bytes_get_data (small, NULL),
                                 g_bytes_get_size (small), SQLITE_TRANSIENT);
              if (sqlite3_step (thumbnail) != SQLITE_DONE)
                g_error ("insert: %s", sqlite3_errmsg (db));
              sqlite3_reset (thumbnail);
            }
        }
    }
  sqlite3_finalize (message);
  sqlite3_finalize (data);
  sqlite3_finalize (attachment);
  sqlite3_finalize (thumbnail);
}

static void
make_image_history (const char *data_home, guint n, gboolean plain_too, gboolean thumbnails)
{
  g_autofree char *dir = g_build_filename (data_home, "rill", NULL);
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(GError) error = NULL;
  RillStore *store;
  sqlite3 *db = NULL;
  gint64 next_id = 1;

  g_mkdir_with_parents (dir, 0700);
  store = rill_store_open (path, &error);
  if (store == NULL)
    g_error ("rill_store_open: %s", error->message);
  g_object_unref (store);
  if (sqlite3_open (path, &db) != SQLITE_OK)
    g_error ("sqlite3_open: %s", sqlite3_errmsg (db));
  exec_sql (db, "BEGIN");
  exec_sql (db, "INSERT INTO conversations (id, title, created_at, updated_at)"
            " VALUES (1, 'With images', 1, 1), (2, 'Without', 2, 2), (3, 'Warm-up', 0, 0)");
  insert_exchanges (db, 1, n, TRUE, thumbnails, &next_id);
  if (plain_too)
    insert_exchanges (db, 2, n, FALSE, FALSE, &next_id);
  insert_exchanges (db, 3, 1, FALSE, FALSE, &next_id);
  exec_sql (db, "COMMIT");
  sqlite3_close (db);
}

static gboolean
store_open (gpointer data)
{
  return rill_session_get_store (rill_application_get_session (rig.app)) != NULL;
}

static guint n_paints;

static void
count_paint_cb (GdkFrameClock *clock, gpointer data)
{
  n_paints++;
}

static gboolean
painted_since (gpointer data)
{
  return n_paints > GPOINTER_TO_UINT (data);
}

/* The next frame painted. */
static void
wait_paint (void)
{
  guint now = n_paints;

  if (!wait_until (painted_since, GUINT_TO_POINTER (now), 30))
    g_error ("no frame painted");
}

static GtkWidget *
find_named (GtkWidget *widget, const char *name)
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

/* The thumbnails the view shows, and their pixels. */
static guint
count_thumbnails (gsize *pixels, int *max_side)
{
  GtkWidget *box = GTK_WIDGET (_rill_conversation_view_get_messages_box (
                                 rig.window->conversation_view));
  guint n = 0;

  for (GtkWidget *row = gtk_widget_get_first_child (box); row;
       row = gtk_widget_get_next_sibling (row))
    {
      GtkWidget *attachments = find_named (row, "attachments");

      for (GtkWidget *child = attachments ? gtk_widget_get_first_child (attachments) : NULL;
           child; child = gtk_widget_get_next_sibling (child))
        {
          GtkWidget *button = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (child));
          GtkWidget *picture = gtk_button_get_child (GTK_BUTTON (button));
          GdkPaintable *paintable = gtk_picture_get_paintable (GTK_PICTURE (picture));
          int w = gdk_paintable_get_intrinsic_width (paintable);
          int h = gdk_paintable_get_intrinsic_height (paintable);

          n++;
          if (pixels != NULL)
            *pixels += (gsize) w * h * 4;
          if (max_side != NULL)
            *max_side = MAX (*max_side, MAX (w, h));
        }
    }
  return n;
}

static gboolean
thumbnails_shown (gpointer data)
{
  return count_thumbnails (NULL, NULL) >= GPOINTER_TO_UINT (data);
}

/* Every question in view shows its thumbnail (and there is one at least):
 * what a person sees of a conversation just opened. Rows further away
 * decode theirs as they are scrolled near. */
static gboolean
view_shows_thumbnails (gpointer data)
{
  GtkWidget *scroller = GTK_WIDGET (_rill_conversation_view_get_scroller (
                                      rig.window->conversation_view));
  GtkWidget *box = GTK_WIDGET (_rill_conversation_view_get_messages_box (
                                 rig.window->conversation_view));
  int page = gtk_widget_get_height (scroller);
  guint in_view = 0;

  for (GtkWidget *row = gtk_widget_get_first_child (box); row;
       row = gtk_widget_get_next_sibling (row))
    {
      GtkWidget *attachments;
      double x, y;

      if (!RILL_IS_MESSAGE_ROW (row) ||
          rill_message_row_get_role (RILL_MESSAGE_ROW (row)) != RILL_ROLE_USER ||
          gtk_widget_get_height (row) == 0 ||
          !gtk_widget_translate_coordinates (row, scroller, 0, 0, &x, &y) ||
          y >= page || y + gtk_widget_get_height (row) <= 0)
        continue;
      attachments = find_named (row, "attachments");
      if (attachments == NULL || gtk_widget_get_first_child (attachments) == NULL)
        return FALSE;
      in_view++;
    }
  return in_view > 0;
}

static gboolean
rows_laid_out (gpointer data)
{
  RillMessageRow *row = rill_conversation_view_get_last_row (rig.window->conversation_view,
                                                             RILL_ROLE_ASSISTANT);

  return row != NULL && gtk_widget_get_height (GTK_WIDGET (row)) > 0;
}

static void
start_app_with_history (void)
{
  start_app ();
  if (!wait_until (store_open, NULL, 60))
    g_error ("the history never opened");
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (rig.window)), "after-paint",
                    G_CALLBACK (count_paint_cb), NULL);
}

/* From the call to the first frame with the conversation on screen: rows
 * made and laid out, and the thumbnails of those in view decoded (off the
 * main thread) and shown. */
static double
time_open (gint64 conversation_id, guint n_thumbnails)
{
  gint64 start;

  rill_window_open_conversation (rig.window, 0, 0);
  wait_paint ();
  wait_paint ();
  start = g_get_monotonic_time ();
  rill_window_open_conversation (rig.window, conversation_id, 0);
  if (!wait_until (n_thumbnails > 0 ? view_shows_thumbnails : rows_laid_out, NULL, 60))
    g_error ("the conversation never showed");
  wait_paint ();
  return (g_get_monotonic_time () - start) / 1000.0;
}

static void
row_open_images (void)
{
  g_autoptr(GArray) with = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) without = g_array_new (FALSE, FALSE, sizeof (double));

  start_app_with_history ();
  /* What any first open of a conversation in a process costs (styles,
   * fonts, the first rows), paid on another one, so that neither first
   * open below carries it. */
  time_open (3, 0);
  /* The first opens read the file and the thumbnails in view (stored, or
   * for images stored before there were thumbnails made from the full
   * images); then the thumbnails are cached, as when a person goes back to
   * a conversation. Both are reported. */
  result ("first_without_ms", time_open (2, 0));
  result ("first_with_ms", time_open (1, 20));
  for (int i = 0; i < opt_open_runs; i++)
    {
      double a = time_open (2, 0);
      double b = time_open (1, 20);

      g_array_append_val (without, a);
      g_array_append_val (with, b);
    }
  result ("without_ms", stats_of (without).median);
  result ("without_max", stats_of (without).max);
  result ("with_ms", stats_of (with).median);
  result ("with_max", stats_of (with).max);
}

static void
scroll_through (void)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (
    _rill_conversation_view_get_scroller (rig.window->conversation_view));
  double page = MAX (100, gtk_adjustment_get_page_size (adjustment));

  gtk_adjustment_set_value (adjustment, 0);
  wait_paint ();
  for (double y = 0; y <= gtk_adjustment_get_upper (adjustment); y += page / 2)
    {
      gtk_adjustment_set_value (adjustment, y);
      wait_paint ();
    }
  for (double y = gtk_adjustment_get_upper (adjustment); y >= 0; y -= page / 2)
    {
      gtk_adjustment_set_value (adjustment, y);
      wait_paint ();
    }
}

static void
row_memory_images (void)
{
  gsize pixels = 0;
  int max_side = 0;

  start_app_with_history ();
  wait_paint ();
  result ("rss_before", rss_kib ());
  rill_window_open_conversation (rig.window, opt_conversation, 0);
  wait_paint ();
  /* Top to bottom and back: every thumbnail is decoded on the way. */
  scroll_through ();
  if (!wait_until (thumbnails_shown, GUINT_TO_POINTER (opt_conversation == 1 ? opt_images : 0),
                   120))
    g_error ("the thumbnails never came");
  scroll_through ();
  result ("rss_after", rss_kib ());
#ifdef __GLIBC__
  /* What the allocator keeps for later, freed back: what is left is what
   * the conversation holds. */
  malloc_trim (0);
#endif
  result ("rss_trimmed", rss_kib ());
  result ("thumbnails", count_thumbnails (&pixels, &max_side));
  result ("thumbnail_kib", pixels / 1024.0);
  result ("thumbnail_max_side", max_side);
  result ("full_kib", (double) opt_images * IMAGE_WIDTH * IMAGE_HEIGHT * 4 / 1024);
}

static int
run_row (const char *row)
{
  gtk_init ();
  adw_init ();
  if (g_str_equal (row, "stream-2000"))
    row_stream (2000);
  else if (g_str_equal (row, "stream-5000"))
    row_stream (5000);
  else if (g_str_equal (row, "burst"))
    row_burst ();
  else if (g_str_equal (row, "long-line"))
    row_long_line ();
  else if (g_str_equal (row, "code-block"))
    row_code_block ();
  else if (g_str_equal (row, "startup"))
    row_startup ();
  else if (g_str_equal (row, "memory"))
    row_memory ();
  else if (g_str_equal (row, "picker-400"))
    row_picker ();
  else if (g_str_equal (row, "attach"))
    row_attach ();
  else if (g_str_equal (row, "open-images"))
    row_open_images ();
  else if (g_str_equal (row, "memory-images"))
    row_memory_images ();
  else
    g_error ("no row %s", row);

  if (rig.window != NULL)
    gtk_window_destroy (GTK_WINDOW (rig.window));
  g_clear_object (&rig.app);
  return 0;
}

/* The parent: histories, children, the table */

static char *self_path;
static gboolean any_miss;

static void
make_history (const char *data_home, guint conversations, guint messages)
{
  g_autofree char *dir = g_build_filename (data_home, "rill", NULL);
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  RillStore *store;

  g_mkdir_with_parents (dir, 0700);
  store = rill_store_open (path, &error);
  if (store == NULL)
    g_error ("rill_store_open: %s", error->message);
  g_object_unref (store);
  if (conversations == 0)
    return;

  sql = g_strdup_printf (
    "PRAGMA journal_mode = WAL; BEGIN;"
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %u)"
    " INSERT INTO conversations (id, title, created_at, updated_at)"
    " SELECT i, 'Conversation ' || i || ' about rivers', 1700000000 + i, 1700000000 + i FROM c;"
    "WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < %u - 1)"
    " INSERT INTO messages (conversation_id, role, content, status, model, created_at, finished_at)"
    " SELECT i %% %u + 1, CASE i / %u %% 2 WHEN 0 THEN 'user' ELSE 'assistant' END,"
    "  'Message ' || i || ': the river runs past old mills and **quiet gardens**, "
    "with `code` and 中文字符 in it.',"
    "  'complete', 'bench-model', 1700000000 + i, 1700000000 + i FROM m;"
    "COMMIT;",
    conversations, messages, conversations, conversations);
  {
    /* The store's writer may still hold the file a moment after it closed:
     * the shell waits for it, as the store itself does. */
    const char *argv[] = { "sqlite3", "-cmd", ".timeout 10000", path, sql, NULL };
    g_autofree char *out = NULL;

    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                       &status, &error) ||
        !g_spawn_check_wait_status (status, NULL))
      g_error ("sqlite3: %s %s", error ? error->message : "", err ? err : "");
  }
}

/* Runs a row in a child with XDG_DATA_HOME at @data_home; its results go
 * into @results (key → double). */
static GHashTable *
run_child (const char *row, const char *data_home)
{
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  int status = 0;

  env = g_environ_setenv (env, "XDG_DATA_HOME", data_home, TRUE);
  g_ptr_array_add (argv, g_strdup (self_path));
  g_ptr_array_add (argv, g_strdup_printf ("--row=%s", row));
  g_ptr_array_add (argv, g_strdup_printf ("--seconds=%g", opt_seconds));
  g_ptr_array_add (argv, g_strdup_printf ("--burst-tokens=%d", opt_burst_tokens));
  g_ptr_array_add (argv, g_strdup_printf ("--long-bytes=%d", opt_long_bytes));
  g_ptr_array_add (argv, g_strdup_printf ("--code-lines=%d", opt_code_lines));
  g_ptr_array_add (argv, g_strdup_printf ("--streams=%d", opt_streams));
  g_ptr_array_add (argv, g_strdup_printf ("--open-runs=%d", opt_open_runs));
  g_ptr_array_add (argv, g_strdup_printf ("--images=%d", opt_images));
  g_ptr_array_add (argv, g_strdup_printf ("--conversation=%d", opt_conversation));
  g_ptr_array_add (argv, NULL);

  if (!g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL,
                     &out, NULL, &status, &error))
    g_error ("%s: %s", row, error->message);
  if (!g_spawn_check_wait_status (status, &error))
    {
      g_printerr ("row %s failed: %s\n", row, error->message);
      any_miss = TRUE;
    }
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto(GStrv) f = NULL;

      if (!g_str_has_prefix (lines[i], "R "))
        continue;
      f = g_strsplit (lines[i] + 2, " ", 2);
      if (f[0] && f[1])
        {
          double *v = g_new (double, 1);
          *v = g_ascii_strtod (f[1], NULL);
          g_hash_table_insert (results, g_strdup (f[0]), v);
        }
    }
  return results;
}

static double
get (GHashTable *r, const char *key)
{
  double *v = g_hash_table_lookup (r, key);
  return v ? *v : NAN;
}

static const char *
verdict (gboolean ok)
{
  if (!ok)
    any_miss = TRUE;
  return ok ? "PASS" : "MISS";
}

static gboolean
wanted (const char *row)
{
  g_auto(GStrv) rows = NULL;

  if (opt_only == NULL)
    return TRUE;
  rows = g_strsplit (opt_only, ",", -1);
  return g_strv_contains ((const char * const *) rows, row);
}

#define LINE \
  "------------------------------------------------------" \
  "-------------------------------------------------------"

static void
print_frames (const char *name, GHashTable *r, const char *who, const char *prefix,
              const char *budget, int ok)
{
  g_autofree char *m = g_strconcat (prefix, ".median", NULL);
  g_autofree char *p = g_strconcat (prefix, ".p99", NULL);
  g_autofree char *x = g_strconcat (prefix, ".max", NULL);
  g_autofree char *n = g_strconcat (prefix, ".n", NULL);

  g_print ("%-28s %-18s %8.1f %8.1f %8.1f %7.0f   %-26s %s\n", name, who,
           get (r, m), get (r, p), get (r, x), get (r, n), budget, ok < 0 ? "" : verdict (ok));
}

static int
run_all (void)
{
  g_autofree char *root = g_dir_make_tmp ("rill-bench-ui-XXXXXX", NULL);
  g_autofree char *empty = g_build_filename (root, "empty", NULL);
  g_autofree char *big = g_build_filename (root, "big", NULL);
  g_autofree char *scratch = g_build_filename (root, "scratch", NULL);
  gint64 t;

  g_print ("rill-bench-ui: %.0f s streams, %d-token burst, %d-byte line, "
           "%d conversations / %d messages, "
           "%d streams; GSK_RENDERER=%s\n",
           opt_seconds, opt_burst_tokens, opt_long_bytes, opt_conversations, opt_messages,
           opt_streams,
           g_getenv ("GSK_RENDERER") ? g_getenv ("GSK_RENDERER") : "(default)");
  if (wanted ("startup") || wanted ("memory"))
    {
      t = g_get_monotonic_time ();
      make_history (empty, 0, 0);
      make_history (big, opt_conversations, opt_messages);
      g_print ("history generated in %.1f s\n", (g_get_monotonic_time () - t) / 1e6);
    }

  g_print ("\n%-28s %-18s %8s %8s %8s %7s   %-26s %s\n", "row", "what", "median", "p99", "max", "n",
           "budget", "result");
  g_print ("%s\n", LINE);

  for (guint rate = 2000; rate <= 5000; rate += 3000)
    {
      g_autofree char *row = g_strdup_printf ("stream-%u", rate);
      g_autofree char *name = g_strdup_printf ("frame ms @%u tok/s", rate);
      g_autofree char *who = NULL;
      g_autoptr(GHashTable) r = NULL;
      g_autofree char *data = g_build_filename (scratch, row, NULL);

      if (!wanted (row))
        continue;
      make_history (data, 0, 0);
      r = run_child (row, data);
      who = g_strdup_printf ("Rill (%.0f tok/s)", get (r, "rill.tok_s"));
      if (rate == 2000)
        print_frames (name, r, who, "rill", "p99 <= 20, max <= 50",
                      get (r, "rill.p99") <= 20 && get (r, "rill.max") <= 50);
      else
        print_frames (name, r, who, "rill", "(no budget)", -1);
      print_frames ("", r, "GtkTextView", "base", "baseline", -1);
    }

  if (wanted ("burst"))
    {
      g_autofree char *data = g_build_filename (scratch, "burst", NULL);
      g_autoptr(GHashTable) r = NULL;
      g_autofree char *name = g_strdup_printf ("burst %d tokens", opt_burst_tokens);
      double v;

      make_history (data, 0, 0);
      r = run_child ("burst", data);
      v = get (r, "visible_ms");
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s %s\n", name, "last chunk->shown", v,
               "", "", "", "<= 100 ms", verdict (v <= 100));
      print_frames ("", r, "frame ms meanwhile", "rill", "", -1);
    }

  if (wanted ("long-line"))
    {
      g_autofree char *data = g_build_filename (scratch, "long-line", NULL);
      g_autoptr(GHashTable) r = NULL;
      g_autofree char *name = g_strdup_printf ("frame ms, %d B no newline", opt_long_bytes);

      make_history (data, 0, 0);
      r = run_child ("long-line", data);
      print_frames (name, r, "Rill", "rill", "max <= 100", get (r, "rill.max") <= 100);
      print_frames ("", r, "GtkTextView", "base", "baseline", -1);
    }

  if (wanted ("code-block"))
    {
      g_autofree char *data = g_build_filename (scratch, "code-block", NULL);
      g_autoptr(GHashTable) r = NULL;
      g_autofree char *name = g_strdup_printf ("frame ms, %d-line code", opt_code_lines);

      make_history (data, 0, 0);
      r = run_child ("code-block", data);
      print_frames (name, r, "Rill (2,000 l/s)", "rill", "p99 <= 20, max <= 50",
                    get (r, "rill.p99") <= 20 && get (r, "rill.max") <= 50);
    }

  if (wanted ("startup"))
    {
      g_autoptr(GArray) e = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) h = g_array_new (FALSE, FALSE, sizeof (double));
      Stats se, sh;
      g_autofree char *name = g_strdup_printf ("start-up ms, %d conv.", opt_conversations);

      for (int i = 0; i < opt_startup_runs; i++)
        {
          g_autoptr(GHashTable) re = run_child ("startup", empty);
          g_autoptr(GHashTable) rh = run_child ("startup", big);
          double ve = get (re, "first_frame_ms"), vh = get (rh, "first_frame_ms");

          g_array_append_val (e, ve);
          g_array_append_val (h, vh);
        }
      se = stats_of (e);
      sh = stats_of (h);
      g_print ("%-28s %-18s %8.1f %8s %8.1f %7u   %-26s %s\n", name, "history", sh.median, "",
               sh.max, sh.n, "<= 2x empty (median)", verdict (sh.median <= 2 * se.median));
      g_print ("%-28s %-18s %8.1f %8s %8.1f %7u   %-26s\n", "", "empty", se.median, "", se.max,
               se.n, "baseline");
    }

  if (wanted ("memory"))
    {
      g_autoptr(GHashTable) r = run_child ("memory", big);
      double open = get (r, "rss_open") / 1024, first = get (r, "rss_first") / 1024;
      double mid = get (r, "rss_1") / 1024;
      g_autofree char *last_key = g_strdup_printf ("rss_%d", opt_streams);
      double last = get (r, last_key) / 1024;
      GString *each = g_string_new (NULL);

      for (int i = 1; i <= opt_streams; i++)
        {
          g_autofree char *k = g_strdup_printf ("rss_%d", i);
          g_string_append_printf (each, "%s%.0f", i > 1 ? " " : "", get (r, k) / 1024);
        }
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s\n", "VmRSS MiB", "history open", open,
               "", "", "", "");
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s\n", "", "+1 reply", first, "", "", "", "");
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s %s\n", "", "growth, 10 streams", last - mid,
               "", "", "", "<= 16 MiB after the 1st", verdict (last - mid <= 16));
      g_print ("%-28s after each stream: %s\n", "", each->str);
      g_string_free (each, TRUE);
    }

  if (wanted ("picker-400"))
    {
      g_autofree char *home = g_build_filename (root, "picker", NULL);
      g_autoptr(GHashTable) r = NULL;

      make_history (home, 0, 0);
      r = run_child ("picker-400", home);

      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s %s\n", "model picker, 400 models",
               "listed (ms)", get (r, "fill_ms"), "", "", "", "<= 100", verdict (get (r, "fill_ms")
                                                                                 <= 100));
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s %s\n", "", "filtered (ms)",
               get (r, "filter_ms"), "", "", "", "<= 50", verdict (get (r, "filter_ms") <= 50));
    }

  if (wanted ("attach"))
    {
      g_autofree char *data = g_build_filename (scratch, "attach", NULL);
      g_autoptr(GHashTable) r = NULL;

      make_history (data, 0, 0);
      r = run_child ("attach", data);
      print_frames ("attach a 12 MP JPEG", r, "frame ms meanwhile", "rill", "max <= 50",
                    get (r, "rill.max") <= 50);
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s\n", "", "read and scaled, ms",
               get (r, "read_ms"), "", "", "", "");
    }

  if (wanted ("open-images"))
    {
      g_autofree char *data = g_build_filename (scratch, "open-images", NULL);
      g_autoptr(GArray) with = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) without = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) first_with = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) first_without = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) old_with = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) old_without = g_array_new (FALSE, FALSE, sizeof (double));
      double w, wo;

      /* A first open is once a process: several processes, each on the
       * same file (the stored thumbnails do not change), for a median. */
      make_image_history (data, 20, TRUE, TRUE);
      for (int i = 0; i < opt_first_runs; i++)
        {
          g_autoptr(GHashTable) r = run_child ("open-images", data);
          double v;

#define TAKE(array, key) (v = get (r, key), g_array_append_val (array, v))
          TAKE (with, "with_ms");
          TAKE (without, "without_ms");
          TAKE (first_with, "first_with_ms");
          TAKE (first_without, "first_without_ms");
        }
      w = stats_of (with).median;
      wo = stats_of (without).median;
      g_print ("%-28s %-18s %8.1f %8s %8.1f %7d   %-26s %s\n", "open, 20 images (ms)",
               "with images", w, "", stats_of (with).max, opt_open_runs * opt_first_runs,
               "<= 2x without (median)", verdict (w <= 2 * wo));
      g_print ("%-28s %-18s %8.1f %8s %8.1f %7d   %-26s\n", "", "without", wo, "",
               stats_of (without).max, opt_open_runs * opt_first_runs, "baseline");
      g_print ("%-28s %-18s %8.2f\n", "", "ratio", w / wo);
      w = stats_of (first_with).median;
      wo = stats_of (first_without).median;
      g_print ("%-28s %-18s %8.1f %8s %8.1f %7d   %-26s %s\n", "", "first, with", w, "",
               stats_of (first_with).max, opt_first_runs, "<= 2x without (stored)",
               verdict (w <= 2 * wo));
      g_print ("%-28s %-18s %8.1f %8s %8.1f %7d   %-26s\n", "", "first, without", wo, "",
               stats_of (first_without).max, opt_first_runs, "");
      g_print ("%-28s %-18s %8.2f\n", "", "first, ratio", w / wo);

      /* Images stored before schema 9: the first open decodes them and
       * writes thumbnails back, so each process has a file of its own. */
      for (int i = 0; i < opt_first_runs; i++)
        {
          g_autofree char *name = g_strdup_printf ("open-images-old-%d", i);
          g_autofree char *old = g_build_filename (scratch, name, NULL);
          g_autoptr(GHashTable) r = NULL;
          double v;

          make_image_history (old, 20, TRUE, FALSE);
          r = run_child ("open-images", old);
          TAKE (old_with, "first_with_ms");
          TAKE (old_without, "first_without_ms");
#undef TAKE
        }
      w = stats_of (old_with).median;
      wo = stats_of (old_without).median;
      g_print ("%-28s %-18s %8.1f %8s %8.1f %7d   %-26s\n", "images stored before",
               "first, with", w, "", stats_of (old_with).max, opt_first_runs,
               "(thumbnails made)");
      g_print ("%-28s %-18s %8.1f %8s %8.1f %7d   %-26s\n", "  thumbnails (ms)",
               "first, without", wo, "", stats_of (old_without).max, opt_first_runs, "");
      g_print ("%-28s %-18s %8.2f\n", "", "first, ratio", w / wo);
    }

  if (wanted ("memory-images"))
    {
      g_autofree char *data = g_build_filename (scratch, "memory-images", NULL);
      g_autoptr(GHashTable) r = NULL;
      g_autoptr(GHashTable) plain = NULL;
      g_autofree char *name = g_strdup_printf ("VmRSS MiB, %d images", opt_images);
      double growth, plain_growth, trimmed, plain_trimmed;

      /* The same exchanges without images, in a process of their own, say
       * what the rows cost; the difference is what the images keep. */
      make_image_history (data, opt_images, TRUE, TRUE);
      opt_conversation = 2;
      plain = run_child ("memory-images", data);
      opt_conversation = 1;
      r = run_child ("memory-images", data);
      growth = (get (r, "rss_after") - get (r, "rss_before")) / 1024;
      plain_growth = (get (plain, "rss_after") - get (plain, "rss_before")) / 1024;
      trimmed = (get (r, "rss_trimmed") - get (r, "rss_before")) / 1024;
      plain_trimmed = (get (plain, "rss_trimmed") - get (plain, "rss_before")) / 1024;
      g_print ("%-28s %-18s %8.1f %8s %8s %7.0f   %-26s\n", name, "growth, with", growth, "", "",
               get (r, "thumbnails"), "");
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s\n", "", "growth, without", plain_growth,
               "", "", "", "baseline");
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s\n", "", "images' share",
               growth - plain_growth, "", "", "", "");
      /* The allocator keeps freed memory (read blobs, decoders' buffers)
       * for later; handed back, what stays is what is held. */
      g_print ("%-28s %-18s %8.1f %8s %8s %7s   %-26s %s\n", "", "share, trimmed",
               trimmed - plain_trimmed, "", "", "", "<= 32 MiB",
               verdict (trimmed - plain_trimmed <= 32));
      g_print ("%-28s %-18s %8.1f %8s %8.0f %7s   %-26s %s\n", "", "thumbnails, MiB",
               get (r, "thumbnail_kib") / 1024, "", get (r, "thumbnail_max_side"), "",
               "max side <= 96 px", verdict (get (r, "thumbnail_max_side") <= 96));
      g_print ("%-28s %-18s %8.1f\n", "", "full images, MiB", get (r, "full_kib") / 1024);
    }

  g_print ("%s\n", LINE);

  {
    const char *argv[] = { "rm", "-rf", root, NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                  NULL, NULL);
  }
  return any_miss ? 1 : 0;
}

int
main (int argc, char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- Rill's window frame budgets");
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
      "Seconds of each paced stream (10)", "S" },
    { "burst-tokens", 0, 0, G_OPTION_ARG_INT, &opt_burst_tokens, "Tokens in a burst (20000)", "N" },
    { "long-bytes", 0, 0, G_OPTION_ARG_INT, &opt_long_bytes,
      "Bytes of the line with no newline (2 MiB)", "N" },
    { "code-lines", 0, 0, G_OPTION_ARG_INT, &opt_code_lines,
      "Lines of the streamed code block (20000)", "N" },
    { "conversations", 0, 0, G_OPTION_ARG_INT, &opt_conversations,
      "Conversations in the history (10000)", "N" },
    { "messages", 0, 0, G_OPTION_ARG_INT, &opt_messages, "Messages in the history (200000)", "N" },
    { "streams", 0, 0, G_OPTION_ARG_INT, &opt_streams, "Successive streams for memory (10)", "N" },
    { "startup-runs", 0, 0, G_OPTION_ARG_INT, &opt_startup_runs,
      "Start-ups of each history (3)", "N" },
    { "open-runs", 0, 0, G_OPTION_ARG_INT, &opt_open_runs,
      "Opens of each conversation for open-images (7)", "N" },
    { "first-runs", 0, 0, G_OPTION_ARG_INT, &opt_first_runs,
      "Processes, each with its first opens, for open-images (5)", "N" },
    { "images", 0, 0, G_OPTION_ARG_INT, &opt_images,
      "Images in the conversation of memory-images (100)", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only,
      "Rows, e.g. burst,startup "
      "(stream-2000,stream-5000,burst,long-line,code-block,startup,memory,attach,"
      "picker-400,open-images,memory-images)", "ROWS" },
    { "quick", 0, 0, G_OPTION_ARG_NONE, &opt_quick, "A fast smoke run with small sizes", NULL },
    { "conversation", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_conversation,
      "The conversation memory-images opens (the child)", "ID" },
    { "row", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_row,
      "Run one row (the child)", "ROW" },
    { NULL }
  };

  process_start_us = g_get_monotonic_time ();
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_row != NULL)
    return run_row (opt_row);

  if (opt_quick)
    {
      opt_seconds = 1.5;
      opt_burst_tokens = 3000;
      opt_long_bytes = 256 * 1024;
      opt_code_lines = 2000;
      opt_conversations = 500;
      opt_messages = 5000;
      opt_streams = 3;
      opt_startup_runs = 1;
      opt_open_runs = 2;
      opt_first_runs = 1;
      opt_images = 20;
    }
  self_path = g_file_read_link ("/proc/self/exe", NULL);
  return run_all ();
}
