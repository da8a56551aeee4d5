/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-message-row.c: what a row shows for each kind of stored message, on
 * the real widget: the header, the actions and the problem box follow the
 * row's properties through the bindings of its template. */

#include <adwaita.h>
#include <gtksourceview/gtksource.h>
#include <string.h>

#include "rill-block-column.h"
#include "rill-code-view.h"
#include "rill-message-row-private.h"
#include "rill-test-support.h"

typedef struct
{
  char      *dir;
  RillStore *store;
  GtkWindow *window;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  f->dir = test_make_tmpdir ();
  path = g_build_filename (f->dir, "history.db", NULL);
  f->store = rill_store_open (path, &error);
  g_assert_no_error (error);
  f->window = GTK_WINDOW (gtk_window_new ());
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (f->window);
  g_clear_object (&f->store);
  test_rm_rf (f->dir);
  g_free (f->dir);
}

/* The texts of the visible labels and the tooltips of the visible buttons
 * of the row's header and problem box, in order, joined with "|". */
static void
collect (GtkWidget *widget,
         GString   *out)
{
  if (!gtk_widget_get_visible (widget) || GTK_IS_TEXT_VIEW (widget))
    return;
  if (GTK_IS_LABEL (widget) && !gtk_widget_has_css_class (widget, "block"))
    g_string_append_printf (out, "%s|", gtk_label_get_text (GTK_LABEL (widget)));
  else if (GTK_IS_BUTTON (widget) && gtk_widget_get_tooltip_text (widget) != NULL)
    g_string_append_printf (out, "[%s]|", gtk_widget_get_tooltip_text (widget));
  else if (GTK_IS_SPINNER (widget))
    g_string_append (out, "(spinner)|");
  if (GTK_IS_BUTTON (widget))
    return;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child;
       child = gtk_widget_get_next_sibling (child))
    collect (child, out);
}

static char *
shown (RillMessageRow *row)
{
  GString *out = g_string_new (NULL);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (row)); child;
       child = gtk_widget_get_next_sibling (child))
    if (!RILL_IS_BLOCK_COLUMN (child))
      collect (child, out);
  return g_string_free (out, FALSE);
}

/* A stored reply with @status and @error, read back from the file. */
static RillMessageRow *
stored_reply (Fixture    *f,
              RillStatus  status,
              const char *error_text)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  gint64 id = test_create_conversation (f->store, "t");
  g_autofree char *path = g_build_filename (f->dir, "history.db", NULL);
  g_autofree char *sql = g_strdup_printf ("INSERT INTO messages"
                                          " (conversation_id, role, content, status, error,"
                                          " model, created_at)"
                                          " VALUES (%" G_GINT64_FORMAT ", 'assistant',"
                                          " 'Some text', '%s', %s, 'llama3', 1)",
                                          id, rill_status_to_string (status),
                                          error_text ? "'Incorrect API key (401)'" : "NULL");

  test_sql_exec (path, sql);
  messages = rill_store_list_messages (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 1);
  return rill_message_row_new_for_message (g_ptr_array_index (messages, 0));
}

/* The caption with its no-break spaces (one figure is never broken
 * across lines) as plain ones. */
static char *
cost_text (RillMessageRow *row)
{
  const char *text = _rill_message_row_get_cost_text (row);
  g_auto(GStrv) parts = text ? g_strsplit (text, "\u00a0", -1) : NULL;

  return parts ? g_strjoinv (" ", parts) : NULL;
}

/* What a stored reply cost, under it, quietly: only what is known, tokens
 * per second only from the tokens the server reported. */
static void
test_cost (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "history.db", NULL);
  RillMessageRow *row = stored_reply (f, RILL_STATUS_COMPLETE, NULL);
  g_autofree char *text = NULL;
  GtkWidget *caption;

  gtk_window_set_child (f->window, GTK_WIDGET (row));
  /* Nothing known but the model, which the author already says. */
  g_assert_null (_rill_message_row_get_cost_text (row));

  test_sql_exec (path, "UPDATE messages SET ttft_ms = 420, generation_ms = 2000,"
                 " prompt_tokens = 12, completion_tokens = 80");
  {
    /* The fixture's first conversation. */
    g_autoptr(GPtrArray) messages = rill_store_list_messages (f->store, 1, NULL);

    row = rill_message_row_new_for_message (g_ptr_array_index (messages, 0));
  }
  gtk_window_set_child (f->window, GTK_WIDGET (row));
  text = cost_text (row);
  g_assert_cmpstr (text, ==,
                   "llama3 · 0.42 s to first token · 40.0 tokens/s · 12 tokens in · "
                   "80 tokens out");
  g_assert_nonnull (strstr (_rill_message_row_get_cost_text (row), "12\u00a0tokens\u00a0in"));
  caption = gtk_widget_get_last_child (GTK_WIDGET (row));
  g_assert_true (GTK_IS_LABEL (caption));
  g_assert_true (gtk_widget_has_css_class (caption, "dim-label"));
  g_assert_true (gtk_widget_has_css_class (caption, "caption"));

  /* Without the server's tokens, no rate: nothing invented. */
  test_sql_exec (path, "UPDATE messages SET completion_tokens = NULL, prompt_tokens = NULL");
  {
    g_autoptr(GPtrArray) messages = rill_store_list_messages (f->store, 1, NULL);

    row = rill_message_row_new_for_message (g_ptr_array_index (messages, 0));
  }
  gtk_window_set_child (f->window, GTK_WIDGET (row));
  g_clear_pointer (&text, g_free);
  text = cost_text (row);
  g_assert_cmpstr (text, ==, "llama3 · 0.42 s to first token");
}

static void
test_user (Fixture       *f,
           gconstpointer  data)
{
  RillMessageRow *row = rill_message_row_new (RILL_ROLE_USER);
  g_autofree char *text = NULL;

  gtk_window_set_child (f->window, GTK_WIDGET (row));
  rill_message_row_set_text (row, "Hello");
  text = shown (row);
  g_assert_cmpstr (text, ==, "You|[Edit and Send Again]|[Copy]|");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (row), "user"));
}

static void
test_complete (Fixture       *f,
               gconstpointer  data)
{
  RillMessageRow *row = stored_reply (f, RILL_STATUS_COMPLETE, NULL);
  g_autofree char *before = NULL;
  g_autofree char *last = NULL;

  gtk_window_set_child (f->window, GTK_WIDGET (row));
  before = shown (row);
  g_assert_cmpstr (before, ==, "llama3|[Copy]|");
  /* Only the last reply offers to regenerate. */
  rill_message_row_set_is_last (row, TRUE);
  last = shown (row);
  g_assert_cmpstr (last, ==, "llama3|[Regenerate]|[Copy]|");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (row), "assistant"));
}

static void
test_failed (Fixture       *f,
             gconstpointer  data)
{
  RillMessageRow *row = stored_reply (f, RILL_STATUS_FAILED, "x");
  g_autofree char *text = NULL;

  gtk_window_set_child (f->window, GTK_WIDGET (row));
  rill_message_row_set_is_last (row, TRUE);
  text = shown (row);
  g_assert_cmpstr (text, ==,
                   "llama3|Failed|[Copy]|Incorrect API key (401)|[Ask for This Reply Again]|");
  g_assert_nonnull (_rill_message_row_get_problem_button (row));
  /* Not the last: the problem is still said, without a button. */
  rill_message_row_set_is_last (row, FALSE);
  g_assert_null (_rill_message_row_get_problem_button (row));
}

static void
test_stopped (Fixture       *f,
              gconstpointer  data)
{
  RillMessageRow *row = stored_reply (f, RILL_STATUS_STOPPED, NULL);
  g_autofree char *text = NULL;

  gtk_window_set_child (f->window, GTK_WIDGET (row));
  rill_message_row_set_is_last (row, TRUE);
  text = shown (row);
  g_assert_cmpstr (text, ==, "llama3|Stopped|[Copy]|Stopped before the end. What arrived is kept.|"
                   "[Ask the Model to Carry On From Here]|");
}

static void
test_interrupted (Fixture       *f,
                  gconstpointer  data)
{
  RillMessageRow *row = stored_reply (f, RILL_STATUS_INTERRUPTED, NULL);
  g_autofree char *text = NULL;

  gtk_window_set_child (f->window, GTK_WIDGET (row));
  text = shown (row);
  g_assert_cmpstr (text, ==,
                   "llama3|Interrupted|[Copy]|"
                   "Rill was closed while this reply arrived. What arrived is kept.|");
}

static const char *rich_reply =
  "Rivers:\n"
  "\n"
  "| river | length (km) |\n"
  "|:------|------------:|\n"
  "| Nile | 6650 |\n"
  "| Amazon \\| Pará | `6400` |\n"
  "\n"
  "```py\n"
  "def longest (rivers):\n"
  "    return max (rivers)\n"
  "```\n"
  "- [x] measured\n"
  "- [ ] mapped\n"
  "\n"
  "Euler: $e^{i\\pi} = -1$, see https://gnome.org and [that](smb://host/share).";

/* What the blocks show, widget by widget, as text: labels, table cells,
 * code with its language, task boxes. */
static void
describe (GtkWidget *widget,
          GString   *out)
{
  if (!gtk_widget_get_visible (widget) || GTK_IS_BUTTON (widget))
    return;
  if (GTK_SOURCE_IS_VIEW (widget))
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (widget));
      GtkSourceLanguage *language = gtk_source_buffer_get_language (GTK_SOURCE_BUFFER (buffer));
      GtkTextIter start, end;
      g_autofree char *code = NULL;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      code = gtk_text_buffer_get_text (buffer, &start, &end, TRUE);
      g_string_append_printf (out, "code[%s]{%s}\n",
                              language ? gtk_source_language_get_id (language) : "-", code);
      return;
    }
  if (GTK_IS_TEXT_VIEW (widget))
    return;
  if (GTK_IS_CHECK_BUTTON (widget))
    g_string_append (out, gtk_check_button_get_active (GTK_CHECK_BUTTON (widget)) ? "[x]" : "[ ]");
  else if (GTK_IS_GRID (widget))
    g_string_append (out, "grid:");
  else if (GTK_IS_LABEL (widget))
    g_string_append_printf (out, "%s%s|", gtk_label_get_label (GTK_LABEL (widget)),
                            gtk_widget_has_css_class (widget, "table-header") ? "(h)" : "");
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child;
       child = gtk_widget_get_next_sibling (child))
    describe (child, out);
}

static GtkWidget *
find_widget (GtkWidget *widget,
             GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static char *
describe_row (RillMessageRow *row)
{
  GString *out = g_string_new (NULL);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (row)); child;
       child = gtk_widget_get_next_sibling (child))
    if (RILL_IS_BLOCK_COLUMN (child))
      describe (child, out);
  return g_string_free (out, FALSE);
}

static void
test_markdown_widgets (Fixture       *f,
                       gconstpointer  data)
{
  RillMessageRow *row = rill_message_row_new (RILL_ROLE_ASSISTANT);
  GtkWidget *grid, *view, *cell;
  GtkSourceLanguage *language;
  g_autofree char *text = NULL;
  const char *cells[] = { "river", "length (km)", "Nile", "6650", "Amazon | Pará", "6400" };

  gtk_window_set_child (f->window, GTK_WIDGET (row));
  _rill_message_row_feed (row, rich_reply, strlen (rich_reply), TRUE);

  /* The table is a grid: header in bold, cells as written, aligned. */
  grid = find_widget (GTK_WIDGET (row), GTK_TYPE_GRID);
  g_assert_nonnull (grid);
  for (guint i = 0; i < G_N_ELEMENTS (cells); i++)
    {
      cell = gtk_grid_get_child_at (GTK_GRID (grid), i % 2, i / 2);
      g_assert_true (GTK_IS_LABEL (cell));
      g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (cell)), ==, cells[i]);
      g_assert_true (gtk_label_get_selectable (GTK_LABEL (cell)));
      g_assert_cmpint (gtk_widget_has_css_class (cell, "table-header"), ==, i < 2);
      g_assert_cmpfloat (gtk_label_get_xalign (GTK_LABEL (cell)), ==, i % 2 ? 1.0 : 0.0);
    }
  /* A table wider than the view scrolls; the window does not grow. */
  g_assert_true (GTK_IS_SCROLLED_WINDOW (gtk_widget_get_parent (gtk_widget_get_parent (grid))));

  /* The Python block is a GtkSourceView, read-only, highlighted as Python. */
  view = find_widget (GTK_WIDGET (row), GTK_SOURCE_TYPE_VIEW);
  g_assert_nonnull (view);
  language = gtk_source_buffer_get_language (
    GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view))));
  g_assert_nonnull (language);
  g_assert_cmpstr (gtk_source_language_get_id (language), ==, "python3");
  g_assert_false (gtk_text_view_get_editable (GTK_TEXT_VIEW (view)));
  g_assert_true (gtk_text_view_get_monospace (GTK_TEXT_VIEW (view)));

  text = describe_row (row);
  g_assert_nonnull (strstr (text, "code[python3]{def longest (rivers):\n"
                            "    return max (rivers)}"));
  g_assert_nonnull (strstr (text, "[x]measured|[ ]mapped|"));
  g_assert_nonnull (strstr (text, "<a href=\"https://gnome.org\""));
  g_assert_null (strstr (text, "smb:"));
  /* The stored text is what the server sent, byte for byte. */
  g_assert_cmpstr (rill_message_row_get_source (row), ==, rich_reply);
}

static void
test_language_aliases (Fixture       *f,
                       gconstpointer  data)
{
  static const char *pairs[][2] = {
    { "py", "python3" }, { "Python", "python3" }, { "js", "js" }, { "ts", "typescript" },
    { "sh", "sh" }, { "shell", "sh" }, { "bash", "sh" }, { "c++", "cpp" }, { "yml", "yaml" },
    { "rust", "rust" }, { "go", "go" }, { "json", "json" }, { "c", "c" },
    { "python {.numbers}", "python3" }, { "no-such-language", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    g_assert_cmpstr (rill_code_view_language_id (pairs[i][0], "x", 1), ==, pairs[i][1]);
  g_assert_null (rill_code_view_language_id (NULL, "plain words", 11));
}

/* Fed in random pieces, a reply ends as the same widgets as fed at once. */
static void
test_streamed_same_widgets (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1202);
  RillMessageRow *whole = rill_message_row_new (RILL_ROLE_ASSISTANT);
  g_autofree char *expected = NULL;
  gsize len = strlen (rich_reply);

  gtk_window_set_child (f->window, GTK_WIDGET (whole));
  _rill_message_row_feed (whole, rich_reply, len, TRUE);
  expected = describe_row (whole);
  g_assert_nonnull (strstr (expected, "grid:"));

  for (guint round = 0; round < 20; round++)
    {
      RillMessageRow *row = rill_message_row_new (RILL_ROLE_ASSISTANT);
      g_autofree char *got = NULL;
      g_autofree char *shown_text = NULL;

      gtk_window_set_child (f->window, GTK_WIDGET (row));
      for (gsize at = 0; at < len;)
        {
          gsize step = g_rand_int_range (rand, 1, 40);

          at = MIN (len, at + step);
          /* A reply grows by whole characters. */
          while (at < len && ((guchar) rich_reply[at] & 0xC0) == 0x80)
            at++;
          _rill_message_row_feed (row, rich_reply, at, FALSE);
          shown_text = _rill_message_row_dup_shown_text (row);
          g_assert_cmpmem (shown_text, strlen (shown_text), rich_reply, at);
          g_clear_pointer (&shown_text, g_free);
        }
      _rill_message_row_feed (row, rich_reply, len, TRUE);
      got = describe_row (row);
      g_assert_cmpstr (got, ==, expected);
    }
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/message-row/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("user", test_user);
  ADD ("complete", test_complete);
  ADD ("cost", test_cost);
  ADD ("failed", test_failed);
  ADD ("stopped", test_stopped);
  ADD ("interrupted", test_interrupted);
  ADD ("markdown-widgets", test_markdown_widgets);
  ADD ("language-aliases", test_language_aliases);
  ADD ("streamed-same-widgets", test_streamed_same_widgets);
#undef ADD

  return g_test_run ();
}
