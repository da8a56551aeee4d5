/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-message-row.c: what a row shows for each kind of stored message, on
 * the real widget: the header, the actions and the problem box follow the
 * row's properties through the bindings of its template. */

#include <adwaita.h>

#include "rill-block-column.h"
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
  ADD ("failed", test_failed);
  ADD ("stopped", test_stopped);
  ADD ("interrupted", test_interrupted);
#undef ADD

  return g_test_run ();
}
