/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-code-view.c
 *
 * A finished code block (or a piece of a long one) as a read-only
 * GtkSourceView: monospace, selectable, highlighted by the language the
 * fence names, in the Adwaita scheme that matches the light or dark style.
 * A view only ever holds a finished piece of at most RILL_MARKDOWN_PIECE
 * bytes, so it is highlighted once, when it is made, never per token; the
 * code still arriving is in the row's tail. */

#include <adwaita.h>
#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>
#include <math.h>
#include <string.h>

#include "rill-code-view.h"

/* What fences say that is neither a GtkSourceView id nor a file extension
 * it knows. Everything else is tried as an id, then as "file.<name>". */
static const struct
{
  const char *alias;
  const char *id;
} aliases[] = {
  { "python", "python3" }, { "py", "python3" }, { "py3", "python3" }, { "python2", "python" },
  { "javascript", "js" }, { "node", "js" }, { "ts", "typescript" }, { "tsx", "typescript-jsx" },
  { "shell", "sh" }, { "bash", "sh" }, { "zsh", "sh" }, { "console", "sh" },
  { "shellscript", "sh" }, { "shell-session", "sh" },
  { "c++", "cpp" }, { "cxx", "cpp" }, { "cc", "cpp" }, { "hpp", "cpp" },
  { "c#", "c-sharp" }, { "cs", "c-sharp" }, { "csharp", "c-sharp" },
  { "yml", "yaml" }, { "md", "markdown" }, { "golang", "go" }, { "rs", "rust" },
  { "dockerfile", "docker" }, { "objective-c", "objc" }, { "objectivec", "objc" },
  { "tex", "latex" }, { "make", "makefile" }, { "ps1", "powershell" }, { "pwsh", "powershell" },
  { "jsonc", "json" }, { "patch", "diff" }, { "htm", "html" }, { "xhtml", "html" },
};

const char *
rill_code_view_language_id (const char *fence_language,
                            const char *code,
                            gsize       len)
{
  GtkSourceLanguageManager *manager = gtk_source_language_manager_get_default ();
  GtkSourceLanguage *language = NULL;

  if (fence_language != NULL && *fence_language != '\0')
    {
      /* "python {.line-numbers}" or "js title=x": the first word. */
      g_autofree char *word = g_ascii_strdown (fence_language, strcspn (fence_language, " \t{,"));
      g_autofree char *file = NULL;

      for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
        if (g_str_equal (word, aliases[i].alias))
          return aliases[i].id;
      language = gtk_source_language_manager_get_language (manager, word);
      if (language == NULL && *word != '\0' && strchr (word, '/') == NULL)
        {
          file = g_strconcat ("file.", word, NULL);
          language = gtk_source_language_manager_guess_language (manager, file, NULL);
        }
    }
  else if (code != NULL && len > 0)
    {
      gboolean uncertain = TRUE;
      g_autofree char *type = g_content_type_guess (NULL, (const guchar *) code, len, &uncertain);

      if (!uncertain && type != NULL && !g_str_equal (type, "text/plain"))
        language = gtk_source_language_manager_guess_language (manager, NULL, type);
    }
  return language ? gtk_source_language_get_id (language) : NULL;
}

static void
update_scheme (GtkSourceBuffer *buffer)
{
  GtkSourceStyleSchemeManager *schemes = gtk_source_style_scheme_manager_get_default ();
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  const char *name = dark ? "Adwaita-dark" : "Adwaita";

  gtk_source_buffer_set_style_scheme (buffer,
                                      gtk_source_style_scheme_manager_get_scheme (schemes, name));
}

static void
copy_cb (GtkButton     *button,
         GtkSourceView *view)
{
  gpointer data = g_object_get_data (G_OBJECT (button), "source-start");
  gint64 source_start = (gint64) GPOINTER_TO_SIZE (data) - 1;
  GtkTextBuffer *buffer;
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  /* In a message, the row copies every piece of the block. */
  if (source_start >= 0 &&
      gtk_widget_activate_action (GTK_WIDGET (button), "message.copy-code", "t",
                                  (guint64) source_start))
    return;
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, TRUE);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (button)), text);
}

/* GTK 4.8's scrolled window takes every wheel event it gets, so a code
 * block, which only scrolls sideways, would stop the conversation scrolling
 * whenever the pointer passed over it. Up and down go to the conversation,
 * the way its own scrolled window moves for a wheel click. */
static gboolean
code_scroll_cb (GtkEventControllerScroll *controller,
                double                    dx,
                double                    dy,
                gpointer                  user_data)
{
  GtkWidget *block = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GdkModifierType state =
    gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  GtkWidget *conversation = gtk_widget_get_ancestor (gtk_widget_get_parent (block),
                                                     GTK_TYPE_SCROLLED_WINDOW);
  GtkAdjustment *adjustment;
  /* GTK's own factor for touchpad deltas. */
  double step = 2.5;

  if (dy == 0 || dx != 0 || (state & GDK_SHIFT_MASK) || conversation == NULL)
    return GDK_EVENT_PROPAGATE;
  adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (conversation));
  if (gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL)
    step = pow (gtk_adjustment_get_page_size (adjustment), 2.0 / 3.0);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) + dy * step);
  return GDK_EVENT_STOP;
}

GtkWidget *
rill_code_view_new (const char *code,
                    gsize       len,
                    const char *language,
                    gboolean    header,
                    gint64      source_start)
{
  static gsize initialized;
  GtkWidget *frame = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkSourceBuffer *buffer;
  GtkWidget *view;
  GtkEventController *wheel;
  const char *id;

  if (g_once_init_enter (&initialized))
    {
      gtk_source_init ();
      g_once_init_leave (&initialized, 1);
    }

  /* The newline before the closing fence is not part of the code. */
  if (len > 0 && code[len - 1] == '\n')
    len--;

  id = rill_code_view_language_id (language, code, MIN (len, 1024));
  buffer = gtk_source_buffer_new (NULL);
  gtk_source_buffer_set_highlight_matching_brackets (buffer, FALSE);
  if (id != NULL)
    gtk_source_buffer_set_language (
      buffer, gtk_source_language_manager_get_language (gtk_source_language_manager_get_default (),
                                                        id));
  update_scheme (buffer);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (update_scheme), buffer, G_CONNECT_SWAPPED);
  gtk_text_buffer_set_text (GTK_TEXT_BUFFER (buffer), code, len);

  view = gtk_source_view_new_with_buffer (buffer);
  g_object_unref (buffer);
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_cursor_visible (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (view), TRUE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_NONE);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 12);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 12);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), header ? 4 : 0);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (view), 10);
  gtk_widget_add_css_class (view, "code");
  /* translators: what a screen reader calls a block of code in a reply */
  gtk_accessible_update_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Code"), -1);

  gtk_widget_add_css_class (frame, "code-block");
  if (!header)
    gtk_widget_add_css_class (frame, "continues");
  else
    {
      GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *lang = gtk_label_new (language ? language : "");
      GtkWidget *copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");

      gtk_widget_add_css_class (bar, "code-header");
      gtk_widget_add_css_class (lang, "caption");
      gtk_widget_add_css_class (lang, "dim-label");
      gtk_widget_set_hexpand (lang, TRUE);
      gtk_label_set_xalign (GTK_LABEL (lang), 0);
      gtk_label_set_ellipsize (GTK_LABEL (lang), PANGO_ELLIPSIZE_END);
      gtk_widget_add_css_class (copy, "flat");
      gtk_widget_set_tooltip_text (copy, _("Copy Code"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (copy), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Copy code"), -1);
      g_object_set_data (G_OBJECT (copy), "source-start", GSIZE_TO_POINTER (source_start + 1));
      g_signal_connect_object (copy, "clicked", G_CALLBACK (copy_cb), view, 0);
      gtk_box_append (GTK_BOX (bar), lang);
      gtk_box_append (GTK_BOX (bar), copy);
      gtk_box_append (GTK_BOX (frame), bar);
    }

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller),
                                  GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), view);
  gtk_box_append (GTK_BOX (frame), scroller);
  g_object_set_data (G_OBJECT (frame), "rill-code-view", view);

  wheel = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  gtk_event_controller_set_propagation_phase (wheel, GTK_PHASE_CAPTURE);
  g_signal_connect (wheel, "scroll", G_CALLBACK (code_scroll_cb), NULL);
  gtk_widget_add_controller (frame, wheel);
  return frame;
}

GtkWidget *
rill_code_view_get_view (GtkWidget *code_block)
{
  return g_object_get_data (G_OBJECT (code_block), "rill-code-view");
}
