/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-block-widget.c
 *
 * A message is drawn as blocks (rill-markdown.h), and each finished block
 * is a widget that never changes again: a label for prose, a header and a
 * sideways-scrolling label for code. What makes them cheap to lay out is
 * here: a minimum width, and prose cut into short Pango items. */

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "rill-block-widget.h"

static void
copy_code_cb (GtkButton *button,
              GtkLabel  *code)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (button));

  gdk_clipboard_set_text (clipboard, gtk_label_get_text (code));
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
rill_block_widget_new_code (const char *code,
                            gsize       len,
                            const char *language)
{
  GtkWidget *frame = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *lang = gtk_label_new (language ? language : "");
  GtkWidget *copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *label = gtk_label_new (NULL);
  GtkEventController *wheel;
  g_autofree char *text = NULL;

  /* The newline before the closing fence is not part of the code. */
  if (len > 0 && code[len - 1] == '\n')
    len--;
  text = g_strndup (code, len);

  gtk_widget_add_css_class (frame, "code-block");
  gtk_widget_add_css_class (header, "code-header");
  gtk_widget_add_css_class (lang, "caption");
  gtk_widget_add_css_class (lang, "dim-label");
  gtk_widget_set_hexpand (lang, TRUE);
  gtk_label_set_xalign (GTK_LABEL (lang), 0);
  gtk_widget_add_css_class (copy, "flat");
  gtk_widget_set_tooltip_text (copy, _("Copy Code"));
  gtk_box_append (GTK_BOX (header), lang);
  gtk_box_append (GTK_BOX (header), copy);

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_yalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "monospace");
  gtk_widget_add_css_class (label, "code");
  g_signal_connect_object (copy, "clicked", G_CALLBACK (copy_code_cb), label, 0);

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller),
                                  GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), label);

  gtk_box_append (GTK_BOX (frame), header);
  gtk_box_append (GTK_BOX (frame), scroller);

  wheel = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  gtk_event_controller_set_propagation_phase (wheel, GTK_PHASE_CAPTURE);
  g_signal_connect (wheel, "scroll", G_CALLBACK (code_scroll_cb), NULL);
  gtk_widget_add_controller (frame, wheel);
  return frame;
}

/* GtkLabel takes <a href> on top of Pango markup and warns about markup it
 * cannot parse; check it as the label would see it. */
static gboolean
markup_is_valid (const char *markup)
{
  static GRegex *links;
  g_autofree char *plain = NULL;

  if (g_once_init_enter (&links))
    g_once_init_leave (&links, g_regex_new ("<a href=\"[^\"]*\">|</a>", G_REGEX_OPTIMIZE, 0, NULL));
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

GtkWidget *
rill_block_widget_new_text (const char    *text,
                            gsize          len,
                            RillBlockKind  kind,
                            gboolean       markdown)
{
  GtkWidget *label = gtk_label_new (NULL);
  g_autofree char *markup = NULL;

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  /* A wrapping label's minimum width is its text laid out as narrow as it
   * goes; without width-chars that is a line per character, and Pango
   * shapes what is left of the paragraph again for each line: 25 ms for a
   * 4 KiB piece of prose, most of a second for 4 KiB with no spaces, paid
   * when each block is first measured. BLOCK_MIN_CHARS wide is as narrow as
   * a block needs to go (a phone is ~45 characters) and breaks the text
   * into 1/BLOCK_MIN_CHARS as many lines. */
  gtk_label_set_width_chars (GTK_LABEL (label), BLOCK_MIN_CHARS);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "block");

  if (markdown)
    markup = rill_markdown_to_pango (text, len, kind);

  /* Whatever the server sent, a label that fails to parse would show
   * nothing: fall back to the plain text. */
  if (markup != NULL && markup_is_valid (markup))
    gtk_label_set_markup (GTK_LABEL (label), markup);
  else
    {
      g_autofree char *plain = g_strstrip (g_strndup (text, len));
      gtk_label_set_text (GTK_LABEL (label), plain);
    }
  split_into_items (GTK_LABEL (label));
  return label;
}
