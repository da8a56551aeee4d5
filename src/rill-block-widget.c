/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-block-widget.c
 *
 * A message is drawn as blocks (rill-markdown.h), and each finished block
 * is a widget that never changes again: a label for a paragraph, and for
 * anything richer a column of parts as md4c read them: list items with
 * their mark, quotes, tables as grids, code as GtkSourceView, display math
 * on a line of its own. What makes them cheap to lay out is here too: a
 * minimum width, and prose cut into short Pango items. */

#include <adwaita.h>
#include <glib/gi18n.h>
#include <string.h>

#include "rill-accessible.h"
#include "rill-block-widget.h"
#include "rill-code-view.h"

GtkWidget *
rill_block_widget_new_code (const char *code,
                            gsize       len,
                            const char *language,
                            gboolean    continues,
                            gint64      source_start)
{
  return rill_code_view_new (code, len, language, !continues, source_start);
}

/* GtkLabel takes <a href> on top of Pango markup and warns about markup it
 * cannot parse; check it as the label would see it. */
static gboolean
markup_is_valid (const char *markup)
{
  static GRegex *links;
  g_autofree char *plain = NULL;

  if (g_once_init_enter (&links))
    g_once_init_leave (&links, g_regex_new ("<a href=\"[^\"]*\"( title=\"[^\"]*\")?>|</a>",
                                            G_REGEX_OPTIMIZE, 0, NULL));
  plain = g_regex_replace_literal (links, markup, -1, 0, "", 0, NULL);
  return plain != NULL && pango_parse_markup (plain, -1, 0, NULL, NULL, NULL, NULL);
}

#define BLOCK_MIN_CHARS 20

/* Pango shapes a wrapped paragraph one line at a time and, at each line,
 * shapes again all that is left of the item the line ends in. Prose in one
 * font is a single item, so laying out a block costs its length squared
 * over the line length: 400 KiB shaped for a 4 KiB block measured at 20
 * characters a line. An attribute that changes how text is itemized ends an
 * item; a font fallback that is on anyway changes nothing else. So the
 * block is cut into items of about RILL_BLOCK_ITEM_BYTES, at a space where there is
 * one, and each line only shapes again what is left of a short item. */
static void
split_into_items (GtkLabel *label)
{
  const char *text = gtk_label_get_text (label);
  gsize len = strlen (text);
  PangoAttrList *attrs;
  gsize start = 0;

  if (len <= 2 * RILL_BLOCK_ITEM_BYTES)
    return;

  attrs = pango_attr_list_new ();
  while (start < len)
    {
      gsize cut = MIN (start + RILL_BLOCK_ITEM_BYTES, len);
      gsize limit = MIN (start + 2 * RILL_BLOCK_ITEM_BYTES, len);
      PangoAttribute *attr;

      while (cut < limit && text[cut] != ' ')
        cut++;
      while (cut < len && ((guchar) text[cut] & 0xC0) == 0x80)
        cut++;
      attr = pango_attr_fallback_new (TRUE);
      attr->start_index = start;
      attr->end_index = cut;
      pango_attr_list_insert (attrs, attr);
      start = cut;
    }
  gtk_label_set_attributes (label, attrs);
  pango_attr_list_unref (attrs);
}

/* Links */

static void
open_uri (GtkWidget  *widget,
          const char *uri)
{
  GtkRoot *root = gtk_widget_get_root (widget);

  /* Through the desktop's default handler, and only what may be a link. */
  if (rill_markdown_uri_allowed (uri))
    gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, uri, GDK_CURRENT_TIME);
}

static void
confirm_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     GtkWidget        *label)
{
  if (g_str_equal (response, "open"))
    open_uri (label, g_object_get_data (G_OBJECT (dialog), "uri"));
}

static gboolean
activate_link_cb (GtkLabel   *label,
                  const char *uri,
                  GPtrArray  *suspicious)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (label));
  AdwMessageDialog *dialog;

  if (!rill_markdown_uri_allowed (uri))
    return TRUE;
  if (suspicious == NULL ||
      !g_ptr_array_find_with_equal_func (suspicious, uri, g_str_equal, NULL))
    {
      open_uri (GTK_WIDGET (label), uri);
      return TRUE;
    }

  /* The words show one address and the link goes to another: say where. */
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root)
                                                                             : NULL,
                                                       _("Open a Different Address?"), NULL));
  adw_message_dialog_format_body (dialog,
                                  _("The text of this link looks like another address. "
                                    "It leads to:\n%s"), uri);
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "open", _("_Open Link"), NULL);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "uri", g_strdup (uri), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (confirm_response_cb), label, 0);
  rill_accessible_name_buttons (GTK_WIDGET (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

static GtkWidget *
new_label (void)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  return label;
}

/* Sets @markup, or when it would not parse (whatever the server sent), the
 * words in it as text. */
static void
set_markup (GtkLabel   *label,
            const char *markup,
            GPtrArray  *suspicious)
{
  if (markup_is_valid (markup))
    {
      gtk_label_set_markup (label, markup);
      if (strstr (markup, "<a href=") != NULL && suspicious != NULL)
        g_signal_connect_data (label, "activate-link", G_CALLBACK (activate_link_cb),
                               g_ptr_array_ref (suspicious),
                               (GClosureNotify) (void (*)(void))g_ptr_array_unref, 0);
      else if (strstr (markup, "<a href=") != NULL)
        g_signal_connect (label, "activate-link", G_CALLBACK (activate_link_cb), NULL);
    }
  else
    gtk_label_set_text (label, markup);
}

/* Tables */

static void
copy_table_cb (GtkButton  *button,
               const char *markdown)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (button)), markdown);
}

/* The widest a column gets before its cells wrap, in characters. */
#define CELL_MAX_CHARS 40

static GtkWidget *
new_cell (const char        *markup,
          RillMarkdownAlign  align,
          gboolean           header)
{
  GtkWidget *label = new_label ();
  g_autofree char *text = NULL;
  int chars;
  float xalign = align == RILL_MARKDOWN_ALIGN_CENTER ? 0.5f
                 : align == RILL_MARKDOWN_ALIGN_RIGHT ? 1.0f : 0.0f;

  set_markup (GTK_LABEL (label), markup, NULL);
  /* As wide as its words up to CELL_MAX_CHARS, and never narrower: a
   * table that does not fit scrolls sideways rather than squeezing its
   * cells a letter wide, and its height is known before it is placed. */
  chars = g_utf8_strlen (gtk_label_get_text (GTK_LABEL (label)), -1);
  /* Characters are counted at an average width: a little room so that a
   * short word of wide letters is not broken. */
  chars = CLAMP (chars + chars / 5 + 1, 1, CELL_MAX_CHARS);
  gtk_label_set_width_chars (GTK_LABEL (label), chars);
  gtk_label_set_max_width_chars (GTK_LABEL (label), chars);
  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  gtk_label_set_justify (GTK_LABEL (label),
                         align == RILL_MARKDOWN_ALIGN_CENTER ? GTK_JUSTIFY_CENTER
                         : align == RILL_MARKDOWN_ALIGN_RIGHT ? GTK_JUSTIFY_RIGHT
                         : GTK_JUSTIFY_LEFT);
  gtk_label_set_yalign (GTK_LABEL (label), 0);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_add_css_class (label, "table-cell");
  if (header)
    gtk_widget_add_css_class (label, "table-header");
  return label;
}

static GtkWidget *
new_table (const RillMarkdownPart *part,
           const char             *text)
{
  GtkWidget *frame = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *caption = gtk_label_new (_("Table"));
  GtkWidget *copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *grid = gtk_grid_new ();
  char *markdown = g_strndup (text + part->source_start, part->source_end - part->source_start);

  gtk_widget_add_css_class (frame, "table-block");
  gtk_widget_add_css_class (bar, "code-header");
  gtk_widget_add_css_class (caption, "caption");
  gtk_widget_add_css_class (caption, "dim-label");
  gtk_widget_set_hexpand (caption, TRUE);
  gtk_label_set_xalign (GTK_LABEL (caption), 0);
  gtk_widget_add_css_class (copy, "flat");
  gtk_widget_set_tooltip_text (copy, _("Copy Table"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (copy), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Copy table"), -1);
  g_signal_connect_data (copy, "clicked", G_CALLBACK (copy_table_cb), markdown,
                         (GClosureNotify) (void (*)(void))g_free, 0);
  gtk_box_append (GTK_BOX (bar), caption);
  gtk_box_append (GTK_BOX (bar), copy);
  gtk_box_append (GTK_BOX (frame), bar);

  gtk_widget_add_css_class (grid, "table");
  gtk_widget_set_halign (grid, GTK_ALIGN_START);
  for (guint row = 0; row < part->n_rows; row++)
    for (guint column = 0; column < part->n_columns; column++)
      {
        GtkWidget *cell = new_cell (part->cells[row * part->n_columns + column],
                                    part->aligns[column], row == 0);

        if (row % 2 == 0 && row > 0)
          gtk_widget_add_css_class (cell, "even");
        gtk_grid_attach (GTK_GRID (grid), cell, column, row, 1, 1);
      }

  /* Wider than the message: it scrolls, the window never grows. */
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller),
                                  GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), grid);
  gtk_box_append (GTK_BOX (frame), scroller);
  g_object_set_data (G_OBJECT (frame), "rill-table-grid", grid);
  return frame;
}

/* Parts */

#define INDENT 22

static GtkWidget *
new_text_part (const RillMarkdownPart *part,
               RillBlockKind           kind)
{
  GtkWidget *label = new_label ();

  /* A wrapping label's minimum width is its text laid out as narrow as it
   * goes; without width-chars that is a line per character, and Pango
   * shapes what is left of the paragraph again for each line: 25 ms for a
   * 4 KiB piece of prose, most of a second for 4 KiB with no spaces, paid
   * when each block is first measured. BLOCK_MIN_CHARS wide is as narrow as
   * a block needs to go (a phone is ~45 characters) and breaks the text
   * into 1/BLOCK_MIN_CHARS as many lines. */
  gtk_label_set_width_chars (GTK_LABEL (label), BLOCK_MIN_CHARS);
  gtk_widget_add_css_class (label, "block");
  set_markup (GTK_LABEL (label), part->markup, part->suspicious_links);
  split_into_items (GTK_LABEL (label));
  gtk_widget_set_hexpand (label, TRUE);
  if (part->centered)
    {
      gtk_label_set_xalign (GTK_LABEL (label), 0.5);
      gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
      gtk_widget_add_css_class (label, "math");
    }
  return label;
}

/* A list item's mark: its bullet or number, or a box for a task. */
static GtkWidget *
new_mark (const RillMarkdownPart *part)
{
  GtkWidget *mark;

  if (part->task != RILL_MARKDOWN_TASK_NONE)
    {
      mark = gtk_check_button_new ();
      gtk_check_button_set_active (GTK_CHECK_BUTTON (mark), part->task == RILL_MARKDOWN_TASK_DONE);
      /* Read-only, and not dimmed as an insensitive one would be. */
      gtk_widget_set_can_target (mark, FALSE);
      gtk_widget_set_focusable (mark, FALSE);
      gtk_widget_set_valign (mark, GTK_ALIGN_START);
      gtk_widget_add_css_class (mark, "task");
    }
  else
    {
      mark = gtk_label_new (part->bullet);
      gtk_label_set_xalign (GTK_LABEL (mark), 1);
      gtk_label_set_yalign (GTK_LABEL (mark), 0);
      gtk_widget_add_css_class (mark, "list-mark");
    }
  gtk_widget_set_size_request (mark, INDENT, -1);
  return mark;
}

static GtkWidget *
new_part (const RillMarkdownPart *part,
          const char             *text,
          RillBlockKind           kind)
{
  GtkWidget *widget = NULL;
  gboolean marked = part->bullet != NULL || part->task != RILL_MARKDOWN_TASK_NONE;
  guint indent = part->depth - (marked ? 1 : 0) - (part->quote_depth > 0 ? 1 : 0);

  switch (part->kind)
    {
    case RILL_MARKDOWN_TEXT:
      widget = new_text_part (part, kind);
      break;
    case RILL_MARKDOWN_TABLE:
      widget = new_table (part, text);
      break;
    case RILL_MARKDOWN_CODE:
      widget = rill_code_view_new (part->code, strlen (part->code), part->language, TRUE, -1);
      break;
    case RILL_MARKDOWN_RULE:
    default:
      widget = gtk_separator_new (GTK_ORIENTATION_HORIZONTAL);
      gtk_widget_add_css_class (widget, "rule");
      break;
    }

  if (marked)
    {
      GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

      gtk_box_append (GTK_BOX (row), new_mark (part));
      gtk_box_append (GTK_BOX (row), widget);
      gtk_widget_add_css_class (row, "list-item");
      widget = row;
    }
  if (part->quote_depth > 0)
    gtk_widget_add_css_class (widget, "quote");
  gtk_widget_set_margin_start (widget, INDENT * indent);
  return widget;
}

GtkWidget *
rill_block_widget_new_text (const char    *text,
                            gsize          len,
                            RillBlockKind  kind,
                            gboolean       markdown)
{
  g_autoptr(GPtrArray) parts = NULL;
  GtkWidget *box;

  if (!markdown)
    {
      GtkWidget *label = new_label ();
      g_autofree char *plain = g_strstrip (g_strndup (text, len));

      gtk_label_set_width_chars (GTK_LABEL (label), BLOCK_MIN_CHARS);
      gtk_widget_add_css_class (label, "block");
      gtk_label_set_text (GTK_LABEL (label), plain);
      split_into_items (GTK_LABEL (label));
      return label;
    }

  parts = rill_markdown_parse (text, len);
  if (parts->len == 1)
    return new_part (g_ptr_array_index (parts, 0), text, kind);

  /* Several parts, or none (blank lines only): a column of them. */
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_add_css_class (box, "parts");
  for (guint i = 0; i < parts->len; i++)
    gtk_box_append (GTK_BOX (box), new_part (g_ptr_array_index (parts, i), text, kind));
  return box;
}
