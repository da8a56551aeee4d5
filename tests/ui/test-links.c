/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-links.c: links in a reply, on the real widget, opened through a real
 * desktop handler.
 *
 * Before GTK starts, the test makes its own XDG data and config folders
 * with one application, the default handler for http, https, mailto, file,
 * smb and a scheme of its own: it writes each address it is given to a log
 * file. Then a reply with every kind of link is shown and each link
 * activated as a click would: only http, https and mailto reach the
 * handler, a link whose words name another host asks first, and nothing is
 * a link inside another. The log proves what was launched: a link that may
 * open is activated after the ones that must not, so once it is in the log
 * the others had their chance. */

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "rill-message-row-private.h"
#include "rill-test-support.h"

#define TIMEOUT_MS 20000

static char *dir;
static char *log_path;

static const char reply[] =
  "Links: [site](https://example.org/a), [mail](mailto:someone@example.org), "
  "[local](file:///etc/hostname), [share](smb://host/share), "
  "[custom](x-rill-test://run), bare https://example.net/b and "
  "[https://bank.example](https://evil.example/login) and "
  "[see https://example.com/inner](https://example.com/outer).\n\n";

static void
write_handler (void)
{
  g_autofree char *apps = g_build_filename (dir, "data", "applications", NULL);
  g_autofree char *config = g_build_filename (dir, "config", NULL);
  g_autofree char *desktop = g_build_filename (apps, "rill-test-opener.desktop", NULL);
  g_autofree char *mimeapps = g_build_filename (config, "mimeapps.list", NULL);
  g_autofree char *opener = g_build_filename (dir, "opener.sh", NULL);
  g_autofree char *script = NULL;
  g_autofree char *entry = NULL;
  static const char *schemes[] = { "http", "https", "mailto", "file", "smb", "x-rill-test" };
  g_autoptr(GString) defaults = g_string_new ("[Default Applications]\n");
  g_autoptr(GString) types = g_string_new (NULL);

  g_assert_cmpint (g_mkdir_with_parents (apps, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (config, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_string_append_printf (types, "x-scheme-handler/%s;", schemes[i]);
      g_string_append_printf (defaults, "x-scheme-handler/%s=rill-test-opener.desktop\n",
                              schemes[i]);
    }
  /* A script: a desktop file's Exec has no single quotes to hide a shell
   * command line in. */
  script = g_strdup_printf ("#!/bin/sh\nprintf '%%s\\n' \"$1\" >> '%s'\n", log_path);
  g_assert_true (g_file_set_contents (opener, script, -1, NULL));
  g_assert_cmpint (g_chmod (opener, 0700), ==, 0);
  entry = g_strdup_printf ("[Desktop Entry]\nType=Application\nName=Test opener\n"
                           "Exec=%s %%u\nMimeType=%s\nNoDisplay=true\n", opener, types->str);
  g_assert_true (g_file_set_contents (desktop, entry, -1, NULL));
  g_assert_true (g_file_set_contents (mimeapps, defaults->str, -1, NULL));
}

static char *
launched (void)
{
  char *text = NULL;

  if (!g_file_get_contents (log_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static gboolean
log_has (gpointer data)
{
  g_autofree char *text = launched ();

  return strstr (text, data) != NULL;
}

/* The labels of the row's finished blocks. */
static void
collect_labels (GtkWidget *widget,
                GPtrArray *labels)
{
  if (GTK_IS_LABEL (widget))
    g_ptr_array_add (labels, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child;
       child = gtk_widget_get_next_sibling (child))
    collect_labels (child, labels);
}

static GtkLabel *
label_with_links (RillMessageRow *row)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();

  collect_labels (GTK_WIDGET (row), labels);
  for (guint i = 0; i < labels->len; i++)
    if (strstr (gtk_label_get_label (labels->pdata[i]), "href=") != NULL)
      return labels->pdata[i];
  g_assert_not_reached ();
}

static guint
count (const char *haystack,
       const char *needle)
{
  guint n = 0;

  for (const char *p = haystack; (p = strstr (p, needle)) != NULL; p += strlen (needle))
    n++;
  return n;
}

static gboolean
activate (GtkLabel   *label,
          const char *uri)
{
  gboolean handled = FALSE;

  g_signal_emit_by_name (label, "activate-link", uri, &handled);
  return handled;
}

static GtkWindow *
dialog_asking (void)
{
  /* GTK's own list, which keeps the windows alive. */
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      GtkWindow *window = g_list_model_get_item (toplevels, i);

      g_object_unref (window);
      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return window;
    }
  return NULL;
}

static gboolean
has_dialog (gpointer data)
{
  return dialog_asking () != NULL;
}

static void
test_links (void)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  RillMessageRow *row = rill_message_row_new (RILL_ROLE_ASSISTANT);
  g_autofree char *text = NULL;
  const char *markup;
  GtkLabel *label;
  GtkWindow *dialog;

  gtk_window_set_child (window, GTK_WIDGET (row));
  gtk_window_present (window);
  _rill_message_row_feed (row, reply, strlen (reply), TRUE);
  label = label_with_links (row);
  markup = gtk_label_get_label (label);
  g_test_message ("%s", markup);

  /* Only http, https and mailto are links, never one inside another; the
   * others read as text. */
  g_assert_nonnull (strstr (markup, "href=\"https://example.org/a\""));
  g_assert_nonnull (strstr (markup, "href=\"mailto:someone@example.org\""));
  g_assert_nonnull (strstr (markup, "href=\"https://example.net/b\""));
  g_assert_null (strstr (markup, "href=\"file:"));
  g_assert_null (strstr (markup, "href=\"smb:"));
  g_assert_null (strstr (markup, "href=\"x-rill-test:"));
  g_assert_null (strstr (markup, "href=\"https://example.com/inner"));
  g_assert_cmpuint (count (markup, "<a "), ==, count (markup, "</a>"));
  g_assert_nonnull (strstr (gtk_label_get_text (label), "local"));

  /* Activated as a click would, the others first: nothing launches them. */
  activate (label, "file:///etc/hostname");
  activate (label, "smb://host/share");
  activate (label, "x-rill-test://run");
  g_assert_true (activate (label, "https://example.org/a"));
  test_wait_until (log_has, (gpointer) "https://example.org/a", TIMEOUT_MS, "https to launch");
  g_assert_true (activate (label, "mailto:someone@example.org"));
  test_wait_until (log_has, (gpointer) "mailto:someone@example.org", TIMEOUT_MS,
                   "mailto to launch");
  text = launched ();
  g_assert_cmpstr (text, ==, "https://example.org/a\nmailto:someone@example.org\n");

  /* Words that name another host: asked first, with the real target. */
  g_assert_true (activate (label, "https://evil.example/login"));
  test_wait_until (has_dialog, NULL, TIMEOUT_MS, "the question");
  dialog = dialog_asking ();
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)),
                            "https://evil.example/login"));
  g_clear_pointer (&text, g_free);
  text = launched ();
  g_assert_null (strstr (text, "evil"));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "open");
  test_wait_until (log_has, (gpointer) "https://evil.example/login", TIMEOUT_MS,
                   "the confirmed link to launch");

  gtk_window_destroy (window);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  /* Before GLib reads them: the handler lives in these folders only. */
  dir = test_make_tmpdir ();
  log_path = g_build_filename (dir, "launched.log", NULL);
  {
    g_autofree char *data = g_build_filename (dir, "data", NULL);
    g_autofree char *config = g_build_filename (dir, "config", NULL);

    g_setenv ("XDG_DATA_HOME", data, TRUE);
    g_setenv ("XDG_CONFIG_HOME", config, TRUE);
    g_autofree char *dirs = g_strconcat (data, ":/usr/local/share:/usr/share", NULL);

    /* The handler's folder first; the system's for icons and the rest. */
    g_setenv ("XDG_DATA_DIRS", dirs, TRUE);
    g_unsetenv ("GTK_USE_PORTAL");
  }
  write_handler ();

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  g_test_add_func ("/links/only-safe-schemes", test_links);
  status = g_test_run ();
  test_rm_rf (dir);
  return status;
}
