/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-bench: the numbers behind Rill's streaming and history budgets.
 *
 * Every row is measured in the same run, side by side with its baseline, and
 * printed as median / p99 / max over repeated runs with its budget:
 *
 *   1. decoding 20,000 OpenAI SSE events and 20,000 Ollama NDJSON lines fed in
 *      random 1–16 KiB pieces through RillStreamParser (CPU time), against
 *      json-glib parsing each event from scratch;
 *   2. checkpoint commits on the writer thread of a real store, against one
 *      UPDATE of the whole text at the end and a whole-text rewrite at every
 *      checkpoint; and the same commits read from a reply streaming from an
 *      in-process server at ~2,000 tokens/s; and (2c) one frame's worth of
 *      text committed when the reply holds 1 KiB and 2 MiB, as a piece
 *      against the "content = content || ?" append it replaced;
 *   3. rill_store_search over 10,000 conversations / 200,000 messages, English
 *      and Chinese queries of 1, 2, 3+ characters, against LIKE '%q%';
 *   4. a 20,000-token burst through the real client: the server's last write
 *      to the reply's "finished", and the stored text byte for byte;
 *   5. opening a conversation of 1,000 turns whose replies each have three
 *      versions (the path shown, with each message's version), among 10,000
 *      other conversations, against reading a linear conversation of the
 *      same length as before versions (every message in id order).
 *
 * Sizes are options (see --help); the defaults are the issue's. */

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <linux/perf_event.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rill-core.h"
#include "rill-ndjson-decoder.h"
#include "rill-sse-decoder.h"
#include "rill-store-private.h"
#include "rill-stream-parser.h"
#include "rill-test-server.h"

static int opt_events = 20000;
static int opt_decode_runs = 21;
static int opt_replies = 10;
static int opt_reply_tokens = 20000;
static int opt_checkpoint_tokens = 500;
static int opt_live_seconds = 3;
static int opt_conversations = 10000;
static int opt_messages = 200000;
static int opt_search_runs = 11;
static int opt_burst_tokens = 20000;
static int opt_burst_runs = 5;
static int opt_piece_bytes = 200;
static int opt_piece_commits = 400;
static char *opt_only = NULL;

static gboolean any_miss = FALSE;

/* Statistics */

typedef struct
{
  double median, p99, max;
  guint  n;
} Stats;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static Stats
stats_of (GArray *values)
{
  Stats s = { 0 };
  double *v = (double *) values->data;
  guint n = values->len;

  if (n == 0)
    return s;
  qsort (v, n, sizeof (double), cmp_double);
  s.n = n;
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  /* Nearest rank. */
  s.p99 = v[MIN (n - 1, (guint) ((n * 99 + 99) / 100) - 1)];
  s.max = v[n - 1];
  return s;
}

static double
cpu_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
wall_now_ms (void)
{
  return g_get_monotonic_time () / 1e3;
}

/* User-space instructions retired, when the kernel lets us count them. */
static int perf_fd = -2;

static void
instr_open (void)
{
  struct perf_event_attr attr = { 0 };

  attr.type = PERF_TYPE_HARDWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_HW_INSTRUCTIONS;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  perf_fd = syscall (SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static void
instr_start (void)
{
  if (perf_fd == -2)
    instr_open ();
  if (perf_fd >= 0)
    {
      ioctl (perf_fd, PERF_EVENT_IOC_RESET, 0);
      ioctl (perf_fd, PERF_EVENT_IOC_ENABLE, 0);
    }
}

static double
instr_stop (void)
{
  guint64 count = 0;

  if (perf_fd < 0)
    return -1;
  ioctl (perf_fd, PERF_EVENT_IOC_DISABLE, 0);
  if (read (perf_fd, &count, sizeof count) != sizeof count)
    return -1;
  return (double) count;
}

/* Table */

static void
print_header (void)
{
  printf ("%-44s %-30s %10s %10s %10s %5s  %-20s %s\n",
          "row", "variant", "median", "p99", "max", "n", "budget", "result");
  printf ("%s\n", "--------------------------------------------------------------------------------"
          "-------------------------------------------------------------------");
}

/* Pads to @width terminal columns; CJK characters take two. */
static void
print_padded (const char *text, int width)
{
  int columns = 0;

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    columns += g_unichar_iswide (g_utf8_get_char (p)) ? 2 : 1;
  printf ("%s%*s ", text, MAX (0, width - columns), "");
}

static void
print_row (const char *row, const char *variant, Stats s, const char *unit,
           const char *budget, const char *result)
{
  char med[32], p99[32], max[32];

  g_snprintf (med, sizeof med, "%.3f%s", s.median, unit);
  g_snprintf (p99, sizeof p99, "%.3f%s", s.p99, unit);
  g_snprintf (max, sizeof max, "%.3f%s", s.max, unit);
  print_padded (row, 44);
  print_padded (variant, 30);
  printf ("%10s %10s %10s %5u  %-20s %s\n",
          med, p99, max, s.n, budget ? budget : "", result ? result : "");
  fflush (stdout);
}

static const char *
verdict (gboolean ok)
{
  if (!ok)
    any_miss = TRUE;
  return ok ? "PASS" : "MISS";
}

/* Deterministic text */

static const char * const en_words[] = {
  "the", "quick", "network", "database", "stream", "token", "model", "reply",
  "window", "search", "index", "memory", "latency", "budget", "server", "client",
  "weather", "question", "answer", "because", "simple", "result", "function",
  "error", "history", "message", "quantum", "compiler", "garden", "river",
};
static const char * const zh_words[] = {
  "你好", "世界", "天气", "数据库", "网络", "模型", "回答", "问题", "搜索",
  "历史", "消息", "机器学习", "编译器", "花园", "河流", "今天", "明天", "因为",
  "简单", "结果", "函数", "错误", "内存", "延迟", "猫", "狗", "书", "水",
};

static const char *
pick_token (GRand *rand, gboolean zh)
{
  if (zh)
    return zh_words[g_rand_int_range (rand, 0, G_N_ELEMENTS (zh_words))];
  return en_words[g_rand_int_range (rand, 0, G_N_ELEMENTS (en_words))];
}

/* Tokens as models send them: mostly words with a leading space, some
 * Chinese, punctuation, newlines, quotes and the odd emoji. */
static char *
make_token (GRand *rand, guint i)
{
  switch (g_rand_int_range (rand, 0, 20))
    {
    case 0: return g_strdup ("\n\n");
    case 1: return g_strdup (".");
    case 2: return g_strdup (" \"quoted\"");
    case 3: return g_strdup (" 👋");
    case 4: case 5: case 6: case 7:
      return g_strdup (pick_token (rand, TRUE));
    default:
      return g_strconcat (" ", pick_token (rand, FALSE), NULL);
    }
}

static char *
json_quote (const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return json_to_string (node, FALSE);
}

/* Row 1: decoding */

typedef struct
{
  char   *bytes;
  gsize   len;
  char   *expected;
  GArray *pieces;     /* gsize lengths, random 1–16 KiB */
} Stream;

static void
stream_free (Stream *s)
{
  g_free (s->bytes);
  g_free (s->expected);
  g_array_unref (s->pieces);
}

static void
stream_split (Stream *s, GRand *rand)
{
  s->pieces = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (gsize at = 0; at < s->len;)
    {
      gsize piece = MIN ((gsize) g_rand_int_range (rand, 1024, 16 * 1024 + 1), s->len - at);
      g_array_append_val (s->pieces, piece);
      at += piece;
    }
}

static void
make_openai_stream (Stream *s, guint n_events, GRand *rand)
{
  GString *out = g_string_new (NULL);
  GString *expected = g_string_new (NULL);

  g_string_append (out,
                   "data: {\"id\":\"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL\","
                   "\"object\":\"chat.completion.chunk\","
                   "\"created\":1727346168,\"model\":\"gpt-4o-2024-08-06\","
                   "\"system_fingerprint\":\"fp_5050236cbd\","
                   "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\","
                   "\"refusal\":null},"
                   "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  for (guint i = 1; i + 2 < n_events; i++)
    {
      g_autofree char *token = make_token (rand, i);
      g_autofree char *quoted = json_quote (token);

      g_string_append_printf (out,
                              "data: {\"id\":\"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL\","
                              "\"object\":\"chat.completion.chunk\","
                              "\"created\":1727346168,\"model\":\"gpt-4o-2024-08-06\","
                              "\"system_fingerprint\":\"fp_5050236cbd\","
                              "\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},"
                              "\"logprobs\":null,\"finish_reason\":null}]}\n\n",
                              quoted);
      g_string_append (expected, token);
    }
  g_string_append (out,
                   "data: {\"id\":\"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL\","
                   "\"object\":\"chat.completion.chunk\","
                   "\"created\":1727346168,\"model\":\"gpt-4o-2024-08-06\","
                   "\"system_fingerprint\":\"fp_5050236cbd\","
                   "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
                   "\"finish_reason\":\"stop\"}],"
                   "\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":19997,"
                   "\"total_tokens\":20014}}\n\n"
                   "data: [DONE]\n\n");
  s->len = out->len;
  s->bytes = g_string_free (out, FALSE);
  s->expected = g_string_free (expected, FALSE);
  stream_split (s, rand);
}

static void
make_ollama_stream (Stream *s, guint n_lines, GRand *rand)
{
  GString *out = g_string_new (NULL);
  GString *expected = g_string_new (NULL);

  for (guint i = 0; i + 1 < n_lines; i++)
    {
      g_autofree char *token = make_token (rand, i);
      g_autofree char *quoted = json_quote (token);

      g_string_append_printf (out,
                              "{\"model\":\"llama3\","
                              "\"created_at\":\"2024-07-29T07:34:31.424569Z\","
                              "\"message\":{\"role\":\"assistant\",\"content\":%s},"
                              "\"done\":false}\n", quoted);
      g_string_append (expected, token);
    }
  g_string_append (out,
                   "{\"model\":\"llama3\",\"created_at\":\"2024-07-29T07:34:35.424569Z\","
                   "\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
                   "\"done_reason\":\"stop\",\"done\":true,"
                   "\"total_duration\":4935886791,\"load_duration\":534986708,"
                   "\"prompt_eval_count\":26,"
                   "\"prompt_eval_duration\":107345000,\"eval_count\":19999,"
                   "\"eval_duration\":4289432000}\n");
  s->len = out->len;
  s->bytes = g_string_free (out, FALSE);
  s->expected = g_string_free (expected, FALSE);
  stream_split (s, rand);
}

static gboolean
run_parser (RillProviderKind kind, const Stream *s)
{
  g_autoptr(RillStreamParser) parser = rill_stream_parser_new (kind);
  gsize at = 0;

  for (guint i = 0; i < s->pieces->len; i++)
    {
      gsize piece = g_array_index (s->pieces, gsize, i);
      rill_stream_parser_feed (parser, s->bytes + at, piece);
      at += piece;
    }
  rill_stream_parser_end (parser);
  return rill_stream_parser_get_error (parser) == NULL
         && rill_stream_parser_has_finished (parser)
         && strcmp (rill_stream_parser_get_content (parser)->str, s->expected) == 0;
}

/* The baseline: a new JsonParser per event and a walk over the whole tree. */

typedef struct
{
  GString *content;
  gsize    n_nodes;
} Naive;

static void walk_node (JsonNode *node, Naive *n);

static void
walk_member (JsonObject *object, const char *name, JsonNode *node, gpointer data)
{
  walk_node (node, data);
}

static void
walk_element (JsonArray *array, guint index, JsonNode *node, gpointer data)
{
  walk_node (node, data);
}

static void
walk_node (JsonNode *node, Naive *n)
{
  n->n_nodes++;
  if (JSON_NODE_HOLDS_OBJECT (node))
    json_object_foreach_member (json_node_get_object (node), walk_member, n);
  else if (JSON_NODE_HOLDS_ARRAY (node))
    json_array_foreach_element (json_node_get_array (node), walk_element, n);
}

static void
naive_event (const char *data, gsize len, Naive *n)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root, *choice, *delta;
  JsonArray *choices;
  JsonNode *content;

  if (len == 6 && memcmp (data, "[DONE]", 6) == 0)
    return;
  if (!json_parser_load_from_data (parser, data, len, NULL))
    return;
  walk_node (json_parser_get_root (parser), n);
  root = json_node_get_object (json_parser_get_root (parser));
  if (json_object_has_member (root, "message"))
    {
      content = json_object_get_member (json_object_get_object_member (root, "message"), "content");
      if (content && JSON_NODE_HOLDS_VALUE (content))
        g_string_append (n->content, json_node_get_string (content));
      return;
    }
  choices = json_object_get_array_member (root, "choices");
  if (choices == NULL || json_array_get_length (choices) == 0)
    return;
  choice = json_array_get_object_element (choices, 0);
  delta = json_object_get_object_member (choice, "delta");
  content = delta ? json_object_get_member (delta, "content") : NULL;
  if (content && JSON_NODE_HOLDS_VALUE (content))
    g_string_append (n->content, json_node_get_string (content));
}

static void
naive_sse_cb (const char *type, const char *data, gsize len, const char *id, gpointer user_data)
{
  naive_event (data, len, user_data);
}

static void
naive_line_cb (const char *line, gsize len, gpointer user_data)
{
  naive_event (line, len, user_data);
}

static gboolean
run_naive (RillProviderKind kind, const Stream *s)
{
  Naive n = { g_string_new (NULL), 0 };
  RillSseDecoder *sse = NULL;
  RillNdjsonDecoder *ndjson = NULL;
  gsize at = 0;
  gboolean ok;

  if (kind == RILL_PROVIDER_OLLAMA)
    ndjson = rill_ndjson_decoder_new (naive_line_cb, &n);
  else
    sse = rill_sse_decoder_new (naive_sse_cb, &n);
  for (guint i = 0; i < s->pieces->len; i++)
    {
      gsize piece = g_array_index (s->pieces, gsize, i);
      if (sse)
        rill_sse_decoder_feed (sse, s->bytes + at, piece);
      else
        rill_ndjson_decoder_feed (ndjson, s->bytes + at, piece);
      at += piece;
    }
  if (sse)
    rill_sse_decoder_finish (sse);
  else
    rill_ndjson_decoder_finish (ndjson);
  ok = strcmp (n.content->str, s->expected) == 0;
  g_clear_pointer (&sse, rill_sse_decoder_free);
  g_clear_pointer (&ndjson, rill_ndjson_decoder_free);
  g_string_free (n.content, TRUE);
  return ok;
}

static void
bench_decode_one (const char *name, RillProviderKind kind, const Stream *s)
{
  g_autoptr(GArray) cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) cpu_base = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ins = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ins_base = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *row = g_strdup_printf ("1. decode %d %s", opt_events, name);
  g_autofree char *budget = g_strdup_printf ("<= %.0f ms CPU", 100.0 * opt_events / 20000);
  gboolean correct = TRUE;
  Stats st, sb;

  /* One untimed run each to warm caches and allocators. */
  correct &= run_parser (kind, s);
  correct &= run_naive (kind, s);
  for (int r = 0; r < opt_decode_runs; r++)
    {
      double t0, i0;

      instr_start ();
      t0 = cpu_now_ms ();
      correct &= run_parser (kind, s);
      t0 = cpu_now_ms () - t0;
      i0 = instr_stop ();
      g_array_append_val (cpu, t0);
      if (i0 >= 0)
        {
          i0 /= 1e6;
          g_array_append_val (ins, i0);
        }

      instr_start ();
      t0 = cpu_now_ms ();
      correct &= run_naive (kind, s);
      t0 = cpu_now_ms () - t0;
      i0 = instr_stop ();
      g_array_append_val (cpu_base, t0);
      if (i0 >= 0)
        {
          i0 /= 1e6;
          g_array_append_val (ins_base, i0);
        }
    }
  st = stats_of (cpu);
  sb = stats_of (cpu_base);
  print_row (row, "RillStreamParser (CPU)", st, "ms", budget,
             correct ? verdict (st.median <= 100.0 * opt_events / 20000 &&
                                st.p99 <= 100.0 * opt_events / 20000)
                     : verdict (FALSE));
  print_row ("", "baseline: JsonParser/event", sb, "ms", "",
             g_strdup_printf (st.median <= sb.median ? "parser %.1fx faster"
                                                     : "parser %.1fx slower",
                              st.median <= sb.median ? sb.median / st.median
                                                     : st.median / sb.median));
  if (ins->len)
    {
      print_row ("", "RillStreamParser (Minstr)", stats_of (ins), "M", "", "");
      print_row ("", "baseline (Minstr)", stats_of (ins_base), "M", "", "");
    }
  if (!correct)
    printf ("   !! decoded text differs from what was sent\n");
}

static void
bench_decode (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601);
  Stream openai = { 0 }, ollama = { 0 };

  make_openai_stream (&openai, opt_events, rand);
  make_ollama_stream (&ollama, opt_events, rand);
  printf ("   (OpenAI stream %.1f MiB in %u pieces; Ollama stream %.1f MiB in %u pieces)\n",
          openai.len / 1048576.0, openai.pieces->len, ollama.len / 1048576.0, ollama.pieces->len);
  bench_decode_one ("OpenAI SSE events", RILL_PROVIDER_OPENAI, &openai);
  bench_decode_one ("Ollama NDJSON lines", RILL_PROVIDER_OLLAMA, &ollama);
  stream_free (&openai);
  stream_free (&ollama);
}

/* Main-loop helpers */

static gboolean
tick_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_for (const gboolean *flag, guint timeout_ms, const char *what)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!*flag)
    {
      gboolean tick = FALSE;
      guint id;

      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", what);
      id = g_timeout_add (10, tick_cb, &tick);
      g_main_context_iteration (NULL, TRUE);
      if (!tick)
        g_source_remove (id);
    }
}

typedef struct
{
  gboolean done;
  gint64   id;
  GError  *error;
} Result;

static void
create_conversation_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Result *r = data;

  r->id = rill_store_create_conversation_finish (RILL_STORE (source), result, &r->error);
  r->done = TRUE;
}

static gint64
create_conversation (RillStore *store)
{
  Result r = { 0 };

  rill_store_create_conversation_async (store, "bench", NULL, create_conversation_cb, &r);
  wait_for (&r.done, 30000, "a conversation");
  g_assert_no_error (r.error);
  return r.id;
}

static void
begin_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Result *r = data;
  RillReplyContext *context = _rill_store_begin_reply_finish (RILL_STORE (source), result,
                                                              &r->error);

  g_clear_pointer (&context, rill_reply_context_free);
  r->done = TRUE;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static sqlite3 *
open_side (const char *path)
{
  sqlite3 *db = NULL;

  if (sqlite3_open (path, &db) != SQLITE_OK)
    g_error ("sqlite3_open: %s", sqlite3_errmsg (db));
  sqlite3_busy_timeout (db, 10000);
  sqlite3_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  return db;
}

static void
exec_or_die (sqlite3 *db, const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static double
timed_update (sqlite3 *db, sqlite3_stmt *stmt, gint64 id, const char *text, gsize len)
{
  double t0 = wall_now_ms ();

  exec_or_die (db, "BEGIN IMMEDIATE");
  sqlite3_bind_text (stmt, 1, text, len, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, id);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    g_error ("update: %s", sqlite3_errmsg (db));
  sqlite3_reset (stmt);
  exec_or_die (db, "COMMIT");
  return wall_now_ms () - t0;
}

static gint64
insert_streaming_row (sqlite3 *db, gint64 conversation_id)
{
  g_autofree char *sql = g_strdup_printf ("INSERT INTO messages"
                                          " (conversation_id, role, content, status, created_at)"
                                          " VALUES (%" G_GINT64_FORMAT ","
                                          " 'assistant', '', 'streaming', 0)",
                                          conversation_id);
  exec_or_die (db, sql);
  return sqlite3_last_insert_rowid (db);
}

/* Row 2: checkpoint commits */

static void
bench_checkpoints (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("rill-bench-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GArray) ours = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) at_end = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) rewrite = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  sqlite3 *side;
  sqlite3_stmt *update;
  gint64 conversation_id, base_conversation_id;
  gsize final_len = 0;
  Stats s;

  g_assert_no_error (error);
  /* The baselines write to a database of their own, so that their WAL
   * traffic does not land in the measured commits' checkpoints. */
  {
    g_autofree char *base_path = g_build_filename (dir, "baseline.db", NULL);
    RillStore *base_store = rill_store_open (base_path, &error);

    g_assert_no_error (error);
    base_conversation_id = create_conversation (base_store);
    rill_store_sync (base_store, 30000);
    g_object_unref (base_store);
    side = open_side (base_path);
  }
  store = rill_store_open (path, &error);
  g_assert_no_error (error);
  conversation_id = create_conversation (store);
  sqlite3_prepare_v2 (side, "UPDATE messages SET content = ?1 WHERE id = ?2", -1, &update, NULL);

  for (int reply = 0; reply < opt_replies; reply++)
    {
      RillReplyRows *rows = g_atomic_rc_box_new0 (RillReplyRows);
      GString *text = g_string_new (NULL);
      gint64 end_row = insert_streaming_row (side, base_conversation_id);
      gint64 rewrite_row = insert_streaming_row (side, base_conversation_id);
      Result r = { 0 };
      double t;

      rows->conversation_id = conversation_id;
      _rill_store_begin_reply_async (store, rows, "bench", NULL, 0, begin_cb, &r);
      wait_for (&r.done, 30000, "the reply's rows");
      g_assert_no_error (r.error);

      for (int at = 0; at < opt_reply_tokens; at += opt_checkpoint_tokens)
        {
          gsize from = text->len;
          GArray *timings;

          for (int i = 0; i < opt_checkpoint_tokens; i++)
            {
              g_autofree char *token = make_token (rand, i);
              g_string_append (text, token);
            }
          /* What rill-reply does every checkpoint interval: the new tail. */
          _rill_store_checkpoint_async (store, rows, at / opt_checkpoint_tokens,
                                        text->str + from, text->len - from, "", 0,
                                        at == 0 ? "{\"model\":\"bench\"}" : NULL, NULL,
                                        NULL, NULL);
          if (!rill_store_sync (store, 30000))
            g_error ("the writer did not catch up");
          timings = _rill_store_take_checkpoint_timings (store);
          for (guint i = 0; i < timings->len; i++)
            {
              t = g_array_index (timings, gint64, i) / 1e3;
              g_array_append_val (ours, t);
            }
          g_array_unref (timings);

          /* Baseline: the whole text again, every checkpoint. */
          t = timed_update (side, update, rewrite_row, text->str, text->len);
          g_array_append_val (rewrite, t);
        }
      /* Baseline: nothing until the end, then the whole text once. */
      t = timed_update (side, update, end_row, text->str, text->len);
      g_array_append_val (at_end, t);
      final_len = text->len;
      g_string_free (text, TRUE);
      g_atomic_rc_box_release (rows);
    }

  {
    g_autofree char *row = g_strdup_printf ("2. checkpoint commit (%d replies x %d tok)",
                                            opt_replies, opt_reply_tokens);
    g_autofree char *variant = g_strdup_printf ("piece every %d tok", opt_checkpoint_tokens);

    s = stats_of (ours);
    print_row (row, variant, s, "ms", "med<=1ms p99<=10ms",
               verdict (s.median <= 1.0 && s.p99 <= 10.0));
    print_row (g_strdup_printf ("   (final text %.0f KiB)", final_len / 1024.0),
               "baseline: rewrite whole text", stats_of (rewrite), "ms", "", "");
    print_row ("", "baseline: one UPDATE at end", stats_of (at_end), "ms", "", "");
  }

  sqlite3_finalize (update);
  sqlite3_close (side);
  rill_store_sync (store, 30000);
  g_clear_object (&store);
  remove_tree (dir);
}

/* Row 2c: what one checkpoint costs as the reply grows */

/* Makes @text @len bytes of tokens. */
static void
fill_text (GString *text, gsize len, GRand *rand)
{
  for (guint i = 0; text->len < len; i++)
    {
      g_autofree char *token = make_token (rand, i);
      g_string_append (text, token);
    }
  g_string_truncate (text, len);
}

static void
collect_timings (RillStore *store, GArray *into)
{
  GArray *timings = _rill_store_take_checkpoint_timings (store);

  for (guint i = 0; into != NULL && i < timings->len; i++)
    {
      double t = g_array_index (timings, gint64, i) / 1e3;
      g_array_append_val (into, t);
    }
  g_array_unref (timings);
}

/* One frame's worth of a 2,000 tok/s stream (~200 bytes) committed when
 * the reply already holds @size bytes: as a piece (Rill), and appended to
 * messages.content as before schema 5 (the baseline, on a database of its
 * own with the writer's settings: WAL, synchronous NORMAL, secure_delete). */
static void
bench_checkpoint_at (gsize size, const char *label)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("rill-bench-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GArray) ours = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) old = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GRand) rand = g_rand_new_with_seed (23);
  /* Small replies are many, so each measured commit meets a reply of about
   * @size; a 2 MiB one is built once a round and takes many commits. */
  guint per_reply = size < 65536 ? 4 : 100;
  guint rounds = MAX (1, opt_piece_commits / per_reply);
  gint64 conversation_id, base_conversation_id;
  sqlite3 *side;
  sqlite3_stmt *append;
  Stats s;

  g_assert_no_error (error);
  {
    g_autofree char *base_path = g_build_filename (dir, "baseline.db", NULL);
    RillStore *base_store = rill_store_open (base_path, &error);

    g_assert_no_error (error);
    base_conversation_id = create_conversation (base_store);
    rill_store_sync (base_store, 30000);
    g_object_unref (base_store);
    side = open_side (base_path);
    exec_or_die (side, "PRAGMA secure_delete = ON");
  }
  store = rill_store_open (path, &error);
  g_assert_no_error (error);
  conversation_id = create_conversation (store);
  sqlite3_prepare_v2 (side, "UPDATE messages SET content = content || ?1"
                      " WHERE id = ?2 AND status = 'streaming'", -1, &append, NULL);

  for (guint round = 0; round < rounds; round++)
    {
      RillReplyRows *rows = g_atomic_rc_box_new0 (RillReplyRows);
      g_autoptr(GString) text = g_string_new (NULL);
      gint64 base_row = insert_streaming_row (side, base_conversation_id);
      Result r = { 0 };
      guint seq = 0;

      rows->conversation_id = conversation_id;
      _rill_store_begin_reply_async (store, rows, "bench", NULL, 0, begin_cb, &r);
      wait_for (&r.done, 30000, "the reply's rows");
      g_assert_no_error (r.error);

      /* The reply so far, in 64 KiB checkpoints, not measured. */
      fill_text (text, size, rand);
      for (gsize at = 0; at < text->len; at += 65536)
        {
          gsize len = MIN (65536, text->len - at);

          _rill_store_checkpoint_async (store, rows, seq++, text->str + at, len, "", 0,
                                        NULL, NULL, NULL, NULL);
          timed_update (side, append, base_row, text->str + at, len);
        }
      if (!rill_store_sync (store, 30000))
        g_error ("the writer did not catch up");
      collect_timings (store, NULL);

      for (guint i = 0; i < per_reply; i++)
        {
          gsize from = text->len;
          double t;

          fill_text (text, from + opt_piece_bytes, rand);
          _rill_store_checkpoint_async (store, rows, seq++, text->str + from, text->len - from,
                                        "", 0, NULL, NULL, NULL, NULL);
          if (!rill_store_sync (store, 30000))
            g_error ("the writer did not catch up");
          collect_timings (store, ours);
          t = timed_update (side, append, base_row, text->str + from, text->len - from);
          g_array_append_val (old, t);
        }
      g_atomic_rc_box_release (rows);
    }

  {
    g_autofree char *row = g_strdup_printf ("2c. checkpoint commit at %s", label);
    g_autofree char *variant = g_strdup_printf ("piece of %d B", opt_piece_bytes);

    s = stats_of (ours);
    print_row (row, variant, s, "ms", "p99<=2ms", verdict (s.n > 0 && s.p99 <= 2.0));
    print_row ("", "baseline: content || ? (schema 4)", stats_of (old), "ms", "", "");
  }
  sqlite3_finalize (append);
  sqlite3_close (side);
  rill_store_sync (store, 30000);
  g_clear_object (&store);
  remove_tree (dir);
}

static void
bench_checkpoint_sizes (void)
{
  bench_checkpoint_at (1024, "1 KiB");
  bench_checkpoint_at (2 * 1024 * 1024, "2 MiB");
}

/* Rows 2b and 4: a reply through the real client */

typedef struct
{
  RillTestServer *server;
  gsize           total;
  double          last_write_ms;
} LastWrite;

/* Looks at the server after every main-loop dispatch: prepare runs at the
 * start of each iteration, check right after the poll. */
static gboolean
last_write_look (LastWrite *lw)
{
  if (lw->last_write_ms == 0
      && rill_test_server_get_bytes_sent (lw->server, "/v1/chat/completions") >= lw->total)
    lw->last_write_ms = wall_now_ms ();
  return FALSE;
}

static gboolean
watch_prepare (GSource *source, gint *timeout)
{
  *timeout = -1;
  return last_write_look (*(LastWrite **) (source + 1));
}

static gboolean
watch_check (GSource *source)
{
  return last_write_look (*(LastWrite **) (source + 1));
}

static gboolean
watch_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = { watch_prepare, watch_check, watch_dispatch, NULL, NULL, NULL };

typedef struct
{
  gboolean finished;
  double   finished_ms;
} Finish;

static void
on_finished (RillReply *reply, Finish *f)
{
  f->finished_ms = wall_now_ms ();
  f->finished = TRUE;
}

typedef struct
{
  char           *dir;
  char           *path;
  RillStore      *store;
  RillTestServer *server;
  RillProvider   *provider;
} Rig;

static void
rig_init (Rig *rig)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;

  rig->dir = g_dir_make_tmp ("rill-bench-XXXXXX", &error);
  g_assert_no_error (error);
  rig->path = g_build_filename (rig->dir, "history.db", NULL);
  rig->store = rill_store_open (rig->path, &error);
  g_assert_no_error (error);
  rig->server = rill_test_server_new ();
  base = g_strconcat (rill_test_server_get_url (rig->server), "/v1", NULL);
  rig->provider = rill_provider_new (RILL_PROVIDER_OPENAI, base, "sk-bench");
}

static void
rig_clear (Rig *rig)
{
  g_clear_object (&rig->provider);
  g_clear_pointer (&rig->server, rill_test_server_free);
  rill_store_sync (rig->store, 30000);
  g_clear_object (&rig->store);
  remove_tree (rig->dir);
  g_free (rig->dir);
  g_free (rig->path);
}

/* Runs one reply; returns the reply (finished) and fills @lw. */
static RillReply *
rig_reply (Rig *rig, RillTestScript *script, gsize total, guint checkpoint_ms, LastWrite *lw,
           Finish *fin)
{
  RillReplyOptions options;
  RillReply *reply;
  GSource *watch;
  gint64 conversation_id = create_conversation (rig->store);

  rill_test_server_route (rig->server, "/v1/chat/completions", script);
  rill_reply_options_init (&options);
  options.model = g_strdup ("bench-model");
  if (checkpoint_ms)
    options.checkpoint_interval_ms = checkpoint_ms;
  options.idle_timeout_ms = 60000;

  lw->server = rig->server;
  lw->total = total;
  lw->last_write_ms = 0;
  watch = g_source_new (&watch_funcs, sizeof (GSource) + sizeof (LastWrite *));
  *(LastWrite **) (watch + 1) = lw;
  g_source_attach (watch, NULL);

  reply = rill_reply_new (rig->store, rig->provider, conversation_id, "bench", &options);
  g_signal_connect (reply, "finished", G_CALLBACK (on_finished), fin);
  rill_reply_start (reply);
  wait_for (&fin->finished, 120000, "the reply to finish");
  g_source_destroy (watch);
  g_source_unref (watch);
  rill_reply_options_clear (&options);
  return reply;
}

static gboolean
stored_exactly (Rig *rig, RillReply *reply, const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillMessage) message = rill_store_get_message (rig->store,
                                                           rill_reply_get_message_id (reply),
                                                           &error);

  return message != NULL
         && rill_reply_get_status (reply) == RILL_STATUS_COMPLETE
         && rill_message_get_status (message) == RILL_STATUS_COMPLETE
         && strlen (rill_message_get_content (message)) == strlen (expected)
         && memcmp (rill_message_get_content (message), expected, strlen (expected)) == 0;
}

static char **
make_tokens (guint n, guint seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  char **tokens = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    tokens[i] = make_token (rand, i);
  return tokens;
}

static void
bench_live_checkpoints (void)
{
  Rig rig = { 0 };
  guint n = opt_live_seconds * 2000;
  g_auto(GStrv) tokens = make_tokens (n, 11);
  g_autofree char *sse = rill_test_openai_sse ((const char * const *) tokens, "bench-model", TRUE);
  g_autofree char *expected = rill_test_join_tokens ((const char * const *) tokens);
  g_autoptr(GArray) commits = g_array_new (FALSE, FALSE, sizeof (double));
  RillTestScript *script = rill_test_script_new (200, "text/event-stream");
  const char *p = sse;
  gboolean exact;
  GArray *timings;
  LastWrite lw = { 0 };
  Finish fin = { 0 };
  RillReply *reply;
  double started = wall_now_ms ();
  Stats s;

  rig_init (&rig);
  /* Four events a chunk, 1.1 ms apart: with the main loop's own cost per
   * chunk that comes to ~2,000 tokens/s; the row prints what was reached. */
  rill_test_script_pace (script, 1100);
  while (*p)
    {
      const char *end = p;

      for (int i = 0; i < 4 && *end; i++)
        end = strstr (end, "\n\n") + 2;
      rill_test_script_send (script, p, end - p, 0);
      p = end;
    }
  reply = rig_reply (&rig, script, strlen (sse), 0, &lw, &fin);
  exact = stored_exactly (&rig, reply, expected);
  timings = _rill_store_take_checkpoint_timings (rig.store);
  for (guint i = 0; i < timings->len; i++)
    {
      double t = g_array_index (timings, gint64, i) / 1e3;
      g_array_append_val (commits, t);
    }
  g_array_unref (timings);
  s = stats_of (commits);
  {
    double seconds = (fin.finished_ms - started) / 1e3;
    g_autofree char *row = g_strdup_printf ("2b. live %u tok, %.1f s (%.0f tok/s)",
                                            n, seconds, n / seconds);
    print_row (row, "checkpoint every 16 ms", s, "ms", "med<=1ms p99<=10ms",
               verdict (exact && s.n > 0 && s.median <= 1.0 && s.p99 <= 10.0));
  }
  g_object_unref (reply);
  rig_clear (&rig);
}

static void
bench_burst (void)
{
  Rig rig = { 0 };
  g_auto(GStrv) tokens = make_tokens (opt_burst_tokens, 23);
  g_autofree char *sse = rill_test_openai_sse ((const char * const *) tokens, "bench-model", TRUE);
  g_autofree char *expected = rill_test_join_tokens ((const char * const *) tokens);
  g_autoptr(GArray) latency = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) whole = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_ms = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean exact = TRUE;
  sqlite3 *side;
  sqlite3_stmt *update;

  rig_init (&rig);
  side = open_side (rig.path);
  sqlite3_prepare_v2 (side, "UPDATE messages SET content = ?1 WHERE id = ?2", -1, &update, NULL);
  for (int run = 0; run < opt_burst_runs; run++)
    {
      RillTestScript *script = rill_test_script_new (200, "text/event-stream");
      LastWrite lw = { 0 };
      Finish fin = { 0 };
      RillReply *reply;
      double started = wall_now_ms (), t;
      gint64 row;

      rill_test_script_send (script, sse, -1, 16384);
      reply = rig_reply (&rig, script, strlen (sse), 0, &lw, &fin);
      exact &= stored_exactly (&rig, reply, expected);
      exact &= lw.last_write_ms > 0;
      t = fin.finished_ms - lw.last_write_ms;
      g_array_append_val (latency, t);
      t = fin.finished_ms - started;
      g_array_append_val (whole, t);

      /* Baseline: the floor, a durable single UPDATE of the same text. */
      row = insert_streaming_row (side, rill_reply_get_conversation_id (reply));
      exec_or_die (side, "PRAGMA synchronous = FULL");
      t = timed_update (side, update, row, expected, strlen (expected));
      exec_or_die (side, "PRAGMA synchronous = NORMAL");
      g_array_append_val (floor_ms, t);
      g_object_unref (reply);
    }
  {
    g_autofree char *row = g_strdup_printf ("4. burst %d tok (%.0f KiB text)",
                                            opt_burst_tokens, strlen (expected) / 1024.0);
    print_row (row, "last server write -> finished", stats_of (latency), "ms",
               "byte-exact", verdict (exact));
    print_row ("", "request -> finished", stats_of (whole), "ms", "", "");
    print_row ("", "baseline: 1 UPDATE sync=FULL", stats_of (floor_ms), "ms", "", "");
  }
  sqlite3_finalize (update);
  sqlite3_close (side);
  rig_clear (&rig);
}

/* Row 3: search */

static char *
make_message (GRand *rand)
{
  GString *s = g_string_new (NULL);
  gboolean zh = g_rand_int_range (rand, 0, 2);
  int words = g_rand_int_range (rand, 5, 40);

  for (int i = 0; i < words; i++)
    {
      /* Mostly one language, with the other mixed in. */
      gboolean this_zh = g_rand_int_range (rand, 0, 10) < (zh ? 8 : 2);
      if (!this_zh && s->len)
        g_string_append_c (s, ' ');
      g_string_append (s, pick_token (rand, this_zh));
      if (g_rand_int_range (rand, 0, 12) == 0)
        g_string_append (s, this_zh ? "。" : ".");
    }
  return g_string_free (s, FALSE);
}

/* What rill_store_search could run instead (a design note, measured here so
 * the figure is real): its LIKE carries an ESCAPE clause, which SQLite never
 * hands to a virtual table, so FTS5 cannot use the trigram index for it; and
 * it orders by m.id, which FTS5 cannot deliver, so every match is sorted in
 * a temporary B-tree before the LIMIT. Here terms of 3+ characters go to
 * MATCH as phrases (the trigram index, case-folded), shorter ones to instr()
 * over the indexed text, and the order is FTS5's own rowid DESC, so a common
 * term stops after 50 rows. */
static sqlite3_stmt *
prepare_proposed (sqlite3 *db, const char *query)
{
  g_auto(GStrv) terms = g_strsplit_set (query, " \t\n\r", -1);
  g_autoptr(GString) sql = g_string_new ("SELECT m.id FROM messages_fts f"
                                         " JOIN messages m ON m.id = f.rowid WHERE 1");
  g_autoptr(GString) match = g_string_new (NULL);
  g_autoptr(GPtrArray) shorts = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = NULL;
  int n = 0;

  for (guint i = 0; terms[i]; i++)
    {
      if (terms[i][0] == '\0')
        continue;
      if (g_utf8_strlen (terms[i], -1) >= 3)
        {
          g_autofree char *quoted = NULL;
          g_auto(GStrv) parts = g_strsplit (terms[i], "\"", -1);

          quoted = g_strjoinv ("\"\"", parts);
          g_string_append_printf (match, "%s\"%s\"", match->len ? " AND " : "", quoted);
        }
      else
        g_ptr_array_add (shorts, terms[i]);
    }
  /* shorts borrows from terms until rewritten below. */
  g_ptr_array_set_free_func (shorts, NULL);
  if (match->len)
    g_string_append (sql, " AND messages_fts MATCH ?1");
  for (guint i = 0; i < shorts->len; i++)
    {
      const char *term = shorts->pdata[i];

      /* Kept away from FTS5 on purpose: SQLite 3.40's trigram LIKE takes a
       * 1–2 character CJK term (3–6 bytes) for an indexable one and finds
       * nothing. With ESCAPE it is checked row by row, in rowid order. */
      GString *pattern = g_string_new ("%");

      for (const char *c = term; *c; c++)
        {
          if (*c == '%' || *c == '_' || *c == '\\')
            g_string_append_c (pattern, '\\');
          g_string_append_c (pattern, *c);
        }
      g_string_append_c (pattern, '%');
      shorts->pdata[i] = g_string_free (pattern, FALSE);
      g_string_append_printf (sql, " AND f.content LIKE ?%u ESCAPE '\\'", i + 2);
    }
  g_ptr_array_set_free_func (shorts, g_free);
  g_string_append (sql, " ORDER BY f.rowid DESC LIMIT 50");
  if (sqlite3_prepare_v2 (db, sql->str, -1, &stmt, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql->str, sqlite3_errmsg (db));
  if (match->len)
    sqlite3_bind_text (stmt, ++n, match->str, -1, SQLITE_TRANSIENT);
  for (guint i = 0; i < shorts->len; i++)
    sqlite3_bind_text (stmt, i + 2, shorts->pdata[i], -1, SQLITE_TRANSIENT);
  return stmt;
}

static void
bench_search (void)
{
  static const char * const queries[] = {
    "r", "xq", "the", "latency", "quantum compiler", "zzzz-none",
    "猫", "天气", "数据库", "机器学习", "不存在的词",
  };
  static const char * const labels[] = {
    "EN 1 char", "EN 2 char (rare)", "EN 3 char", "EN 7 char", "EN 2 words", "EN no match",
    "ZH 1 char", "ZH 2 char", "ZH 3 char", "ZH 4 char", "ZH no match",
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("rill-bench-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  sqlite3 *side;
  sqlite3_stmt *conv, *msg, *like;
  double t0;
  int per_conversation = MAX (1, opt_messages / MAX (1, opt_conversations));
  int n_messages = 0;
  gboolean short_missed = FALSE;

  g_assert_no_error (error);
  store = rill_store_open (path, &error);
  g_assert_no_error (error);
  side = open_side (path);

  t0 = wall_now_ms ();
  exec_or_die (side, "BEGIN");
  sqlite3_prepare_v2 (side, "INSERT INTO conversations (title, created_at, updated_at)"
                      " VALUES (?1, ?2, ?2)", -1, &conv, NULL);
  sqlite3_prepare_v2 (side, "INSERT INTO messages"
                      " (conversation_id, role, content, status, created_at)"
                      " VALUES (?1, ?2, ?3, 'complete', ?4)", -1, &msg, NULL);
  for (int c = 0; c < opt_conversations; c++)
    {
      g_autofree char *title = make_message (rand);
      gint64 conversation_id;

      sqlite3_bind_text (conv, 1, title, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (conv, 2, 1700000000 + c);
      sqlite3_step (conv);
      sqlite3_reset (conv);
      conversation_id = sqlite3_last_insert_rowid (side);
      for (int m = 0; m < per_conversation && n_messages < opt_messages; m++, n_messages++)
        {
          g_autofree char *content = make_message (rand);

          sqlite3_bind_int64 (msg, 1, conversation_id);
          sqlite3_bind_text (msg, 2, m % 2 ? "assistant" : "user", -1, SQLITE_STATIC);
          sqlite3_bind_text (msg, 3, content, -1, SQLITE_TRANSIENT);
          sqlite3_bind_int64 (msg, 4, 1700000000 + c);
          if (sqlite3_step (msg) != SQLITE_DONE)
            g_error ("insert: %s", sqlite3_errmsg (side));
          sqlite3_reset (msg);
        }
    }
  sqlite3_finalize (conv);
  sqlite3_finalize (msg);
  exec_or_die (side, "COMMIT");
  exec_or_die (side, "PRAGMA wal_checkpoint(TRUNCATE)");
  printf ("   (search corpus: %d conversations, %d messages, built in %.1f s)\n",
          opt_conversations, n_messages, (wall_now_ms () - t0) / 1e3);

  sqlite3_prepare_v2 (side, "SELECT id FROM messages WHERE content LIKE ?1"
                      " ORDER BY id DESC LIMIT 50", -1, &like, NULL);
  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      g_autoptr(GArray) ours = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) base = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GArray) proposed = g_array_new (FALSE, FALSE, sizeof (double));
      guint n_proposed = 0;
      g_autofree char *pattern = g_strdup_printf ("%%%s%%", queries[q]);
      g_autofree char *row = g_strdup_printf ("3. search \"%s\" (%s)", queries[q], labels[q]);
      guint n_found = 0, n_like = 0;
      gboolean is_short = g_utf8_strlen (queries[q], -1) < 3;
      Stats s;

      for (int r = 0; r < opt_search_runs; r++)
        {
          g_autoptr(GPtrArray) found = NULL;
          double t;

          t = wall_now_ms ();
          found = rill_store_search (store, queries[q], 50, &error);
          t = wall_now_ms () - t;
          g_assert_no_error (error);
          n_found = found->len;
          g_array_append_val (ours, t);

          t = wall_now_ms ();
          n_like = 0;
          /* LIKE's own spelling of a phrase: the whole string. */
          sqlite3_bind_text (like, 1, pattern, -1, SQLITE_STATIC);
          while (sqlite3_step (like) == SQLITE_ROW)
            n_like++;
          sqlite3_reset (like);
          t = wall_now_ms () - t;
          g_array_append_val (base, t);

          t = wall_now_ms ();
          {
            sqlite3_stmt *stmt = prepare_proposed (side, queries[q]);

            n_proposed = 0;
            while (sqlite3_step (stmt) == SQLITE_ROW)
              n_proposed++;
            sqlite3_finalize (stmt);
          }
          t = wall_now_ms () - t;
          g_array_append_val (proposed, t);
        }
      s = stats_of (ours);
      {
        gboolean ok = s.median <= 20.0;
        g_autofree char *variant = g_strdup_printf ("rill_store_search (%u hits)", n_found);
        g_autofree char *bvariant = g_strdup_printf ("baseline: LIKE (%u hits)", n_like);
        g_autofree char *result = g_strdup_printf ("%s%s", verdict (ok),
                                                   ok ? "" : is_short
                                                   ? " (rare <3-char term: walks every row)"
                                                   : "");
        if (!ok && is_short)
          short_missed = TRUE;
        print_row (row, variant, s, "ms", "median<=20ms", result);
        g_autofree char *pvariant = g_strdup_printf ("proposed: MATCH/rowid (%u hits)", n_proposed);
        print_row ("", bvariant, stats_of (base), "ms", "", "");
        (void) pvariant;
      }
    }
  if (short_missed)
    printf ("   note: a term under 3 characters cannot use the trigram index; "
            "it is checked row by row,\n"
            "         newest first, so a common one stops at the limit "
            "and a rare one walks every message\n");
  sqlite3_finalize (like);
  sqlite3_close (side);
  g_clear_object (&store);
  remove_tree (dir);
}

/* Row 5: the path shown of a tree, against the linear read it replaced. */
static void
bench_open_path (void)
{
  const int turns = 1000, versions = 3, others = 10000;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("rill-bench-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(RillStore) store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GArray) tree_times = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) linear_times = g_array_new (FALSE, FALSE, sizeof (double));
  sqlite3 *side;
  sqlite3_stmt *msg;
  gint64 tree_id, linear_id;
  guint path_len = 0, linear_len = 0;

  g_assert_no_error (error);
  store = rill_store_open (path, &error);
  g_assert_no_error (error);
  side = open_side (path);
  exec_or_die (side, "BEGIN");
  exec_or_die (side, "INSERT INTO conversations (title, created_at, updated_at)"
               " VALUES ('tree', 1, 1), ('linear', 1, 1)");
  tree_id = 1;
  linear_id = 2;
  sqlite3_prepare_v2 (side, "INSERT INTO messages (conversation_id, role, content, status,"
                      " created_at, parent_id) VALUES (?1, ?2, ?3, 'complete', 1, nullif(?4, 0))",
                      -1, &msg, NULL);
#define INSERT(conversation, role, parent) \
  G_STMT_START { \
    g_autofree char *content_ = make_message (rand); \
    sqlite3_bind_int64 (msg, 1, (conversation)); \
    sqlite3_bind_text (msg, 2, (role), -1, SQLITE_STATIC); \
    sqlite3_bind_text (msg, 3, content_, -1, SQLITE_TRANSIENT); \
    sqlite3_bind_int64 (msg, 4, (parent)); \
    if (sqlite3_step (msg) != SQLITE_DONE) \
    g_error ("insert: %s", sqlite3_errmsg (side)); \
    sqlite3_reset (msg); \
  } G_STMT_END
  {
    gint64 tree_last = 0, linear_last = 0, question;

    for (int t = 0; t < turns; t++)
      {
        INSERT (tree_id, "user", tree_last);
        question = sqlite3_last_insert_rowid (side);
        for (int v = 0; v < versions; v++)
          INSERT (tree_id, "assistant", question);
        tree_last = sqlite3_last_insert_rowid (side);
        INSERT (linear_id, "user", linear_last);
        INSERT (linear_id, "assistant", sqlite3_last_insert_rowid (side));
        linear_last = sqlite3_last_insert_rowid (side);
      }
    for (int c = 0; c < others; c++)
      {
        g_autofree char *sql = g_strdup_printf ("INSERT INTO conversations (title, created_at,"
                                                " updated_at) VALUES ('other', 1, 1)");
        gint64 id;

        exec_or_die (side, sql);
        id = sqlite3_last_insert_rowid (side);
        INSERT (id, "user", 0);
        INSERT (id, "assistant", sqlite3_last_insert_rowid (side));
      }
  }
#undef INSERT
  sqlite3_finalize (msg);
  exec_or_die (side, "COMMIT");
  exec_or_die (side, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close (side);

  for (int r = 0; r < 21; r++)
    {
      g_autoptr(GPtrArray) shown = NULL;
      g_autoptr(GPtrArray) linear = NULL;
      double t;

      t = wall_now_ms ();
      shown = rill_store_list_path (store, tree_id, 0, &error);
      t = wall_now_ms () - t;
      g_assert_no_error (error);
      path_len = shown->len;
      g_array_append_val (tree_times, t);

      t = wall_now_ms ();
      linear = rill_store_list_messages (store, linear_id, &error);
      t = wall_now_ms () - t;
      g_assert_no_error (error);
      linear_len = linear->len;
      g_array_append_val (linear_times, t);
    }
  {
    Stats s = stats_of (tree_times);
    gboolean ok = s.median <= 16.0 && path_len == (guint) turns * 2;
    g_autofree char *variant = g_strdup_printf ("list_path (%u shown)", path_len);
    g_autofree char *bvariant = g_strdup_printf ("baseline: list_messages (%u)", linear_len);

    print_row ("5. open 1,000 turns x 3 versions", variant, s, "ms", "median<=16ms",
               verdict (ok));
    print_row ("", bvariant, stats_of (linear_times), "ms", "", "");
  }
  g_clear_object (&store);
  remove_tree (dir);
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

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "events", 0, 0, G_OPTION_ARG_INT, &opt_events, "Events/lines to decode (20000)", "N" },
    { "decode-runs", 0, 0, G_OPTION_ARG_INT, &opt_decode_runs, "Repeats of each decode (21)", "N" },
    { "replies", 0, 0, G_OPTION_ARG_INT, &opt_replies, "Replies checkpointed (10)", "N" },
    { "reply-tokens", 0, 0, G_OPTION_ARG_INT, &opt_reply_tokens,
      "Tokens per checkpointed reply (20000)", "N" },
    { "checkpoint-tokens", 0, 0, G_OPTION_ARG_INT, &opt_checkpoint_tokens,
      "Tokens between checkpoints (500: 250 ms at 2,000 tok/s)", "N" },
    { "live-seconds", 0, 0, G_OPTION_ARG_INT, &opt_live_seconds,
      "Seconds of live 2,000 tok/s stream (3)", "S" },
    { "conversations", 0, 0, G_OPTION_ARG_INT, &opt_conversations,
      "Conversations to search (10000)", "N" },
    { "messages", 0, 0, G_OPTION_ARG_INT, &opt_messages, "Messages to search (200000)", "N" },
    { "search-runs", 0, 0, G_OPTION_ARG_INT, &opt_search_runs, "Repeats of each query (11)", "N" },
    { "burst-tokens", 0, 0, G_OPTION_ARG_INT, &opt_burst_tokens,
      "Tokens in the burst (20000)", "N" },
    { "burst-runs", 0, 0, G_OPTION_ARG_INT, &opt_burst_runs, "Bursts (5)", "N" },
    { "piece-bytes", 0, 0, G_OPTION_ARG_INT, &opt_piece_bytes,
      "Bytes a checkpoint carries in row 2c (200: a frame at 2,000 tok/s)", "N" },
    { "piece-commits", 0, 0, G_OPTION_ARG_INT, &opt_piece_commits,
      "Commits measured at each size in row 2c (400)", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only,
      "Rows to run, e.g. 1,3 (1,2,2b,2c,3,4,5)", "ROWS" },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("- Rill's streaming and history benchmarks");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d %H:%M");

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  printf ("rill-bench %s, %u CPUs, SQLite %s, json-glib %d.%d.%d, GLib %u.%u.%u\n", date,
          g_get_num_processors (), sqlite3_libversion (), JSON_MAJOR_VERSION, JSON_MINOR_VERSION,
          JSON_MICRO_VERSION, glib_major_version, glib_minor_version, glib_micro_version);
  print_header ();
  if (wanted ("1"))
    bench_decode ();
  if (wanted ("2"))
    bench_checkpoints ();
  if (wanted ("2b"))
    bench_live_checkpoints ();
  if (wanted ("2c"))
    bench_checkpoint_sizes ();
  if (wanted ("3"))
    bench_search ();
  if (wanted ("4"))
    bench_burst ();
  if (wanted ("5"))
    bench_open_path ();
  if (instr_stop () < 0)
    printf ("   (instruction counts unavailable here: perf_event_open refused; "
            "use valgrind --tool=callgrind)\n");
  /* A miss is a finding for the table, not a failure of the run. */
  printf ("%s\n", any_miss ? "some budgets missed" : "all budgets met");
  return 0;
}
