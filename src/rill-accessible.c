/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-accessible.c: see rill-accessible.h. */

#include <adwaita.h>
#include <glib/gi18n.h>

#include "rill-accessible.h"

/* The text a button shows: its label, or that of its icon-and-label child. */
static const char *
shown_label (GtkButton *button)
{
  GtkWidget *child = gtk_button_get_child (button);

  if (ADW_IS_BUTTON_CONTENT (child))
    return adw_button_content_get_label (ADW_BUTTON_CONTENT (child));
  return gtk_button_get_label (button);
}

static gboolean
shown_use_underline (GtkButton *button)
{
  GtkWidget *child = gtk_button_get_child (button);

  if (ADW_IS_BUTTON_CONTENT (child))
    return adw_button_content_get_use_underline (ADW_BUTTON_CONTENT (child));
  return gtk_button_get_use_underline (button);
}

static void
name_from_label (GtkButton *button)
{
  const char *label = shown_label (button);
  g_autoptr(GString) name = NULL;

  if (label == NULL)
    return;
  name = g_string_new (NULL);
  for (const char *p = label; *p; p++)
    {
      /* "_Retry" says "Retry"; "__" is a literal underscore. */
      if (*p == '_' && shown_use_underline (button))
        {
          if (p[1] != '_')
            continue;
          p++;
        }
      g_string_append_c (name, *p);
    }
  gtk_accessible_reset_relation (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  name->str, -1);
}

static gboolean
name_later_cb (gpointer data)
{
  g_autoptr(GtkButton) button = data;

  name_from_label (button);
  return G_SOURCE_REMOVE;
}

/* GtkButton sets its relation after it tells of the new label: once it is
 * done. */
static void
label_changed_cb (GtkButton  *button,
                  GParamSpec *pspec)
{
  g_idle_add_full (G_PRIORITY_HIGH_IDLE, name_later_cb, g_object_ref (button), NULL);
}

static const char *
icon_meaning (const char *icon_name)
{
  static const struct { const char *icon; const char *words; } icons[] = {
    { "edit-find-symbolic", N_("Search") },
    { "go-previous-symbolic", N_("Back") },
    { "go-next-symbolic", N_("Next") },
    { "open-menu-symbolic", N_("Menu") },
    { "pan-down-symbolic", N_("More") },
    { "window-close-symbolic", N_("Close") },
    { "edit-copy-symbolic", N_("Copy") },
  };

  for (guint i = 0; icon_name != NULL && i < G_N_ELEMENTS (icons); i++)
    if (g_str_equal (icon_name, icons[i].icon))
      return _(icons[i].words);
  return NULL;
}

static const char *
icon_of (GtkWidget *widget)
{
  for (GtkWidget *child = widget; child != NULL; child = gtk_widget_get_first_child (child))
    if (GTK_IS_IMAGE (child))
      return gtk_image_get_icon_name (GTK_IMAGE (child));
  return NULL;
}

/* The first words shown inside @widget. */
static const char *
text_of (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget) && *gtk_label_get_text (GTK_LABEL (widget)) != '\0')
    return gtk_label_get_text (GTK_LABEL (widget));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      const char *text = text_of (child);

      if (text != NULL)
        return text;
    }
  return NULL;
}

void
rill_accessible_name_foreign (GtkWidget  *root,
                              const char *text_name)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  /* A menu button's own button is named by it (GTK relates the two). */
  if ((GTK_IS_BUTTON (root) || GTK_IS_MENU_BUTTON (root)) &&
      !GTK_IS_MENU_BUTTON (gtk_widget_get_parent (root)) &&
      !(GTK_IS_BUTTON (root) && gtk_button_get_label (GTK_BUTTON (root)) != NULL))
    {
      const char *words = gtk_widget_get_tooltip_text (root);

      if (words == NULL)
        words = text_of (root);
      if (words == NULL)
        words = icon_meaning (icon_of (root));
      if (words == NULL && GTK_IS_MENU_BUTTON (root))
        words = _("Menu");
      if (words != NULL)
        gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                        words, -1);
    }
  else if (GTK_IS_SEARCH_ENTRY (root))
    gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _("Search"), -1);
  else if (GTK_IS_TEXT_VIEW (root) && text_name != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    text_name, -1);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    rill_accessible_name_foreign (child, text_name);
  rill_accessible_name_buttons (root);
}

void
rill_accessible_name_buttons (GtkWidget *root)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  /* Every button, labelled now or later (a label bound in a template is
   * set after this runs). */
  if (GTK_IS_BUTTON (root) && !g_object_get_data (G_OBJECT (root), "rill-accessible-named"))
    {
      g_object_set_data (G_OBJECT (root), "rill-accessible-named", GINT_TO_POINTER (TRUE));
      name_from_label (GTK_BUTTON (root));
      /* After the button's own handler, which sets the relation again. */
      g_signal_connect_after (root, "notify::label", G_CALLBACK (label_changed_cb), NULL);
    }
  /* libadwaita 1.2's "Show Text" button in a password row has its words in
   * the tooltip only. */
  if (GTK_IS_BUTTON (root) && gtk_button_get_label (GTK_BUTTON (root)) == NULL &&
      gtk_widget_get_tooltip_text (root) != NULL &&
      gtk_widget_get_ancestor (root, ADW_TYPE_PASSWORD_ENTRY_ROW) != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    gtk_widget_get_tooltip_text (root), -1);
  /* A search entry's name is what it searches; the one libadwaita puts in
   * a preferences window has none. */
  else if (GTK_IS_SEARCH_ENTRY (root) && ADW_IS_PREFERENCES_WINDOW (gtk_widget_get_root (root)))
    gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _("Search preferences"), -1);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    rill_accessible_name_buttons (child);
}
