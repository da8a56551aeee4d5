/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-accessible.h: names for screen readers where GTK 4.8 gets them wrong. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Gives every button with a text label (or an AdwButtonContent) under @root (@root included) that
 * text, without its mnemonic underscore, as its only accessible name, now
 * and whenever its label changes. GTK 4.8 names such a button by its
 * label property (underscore included) followed by the text of the label
 * it is labelled by, so a screen reader says "_Dismiss Dismiss"; newer GTK
 * uses the relation alone. Dropping the relation and setting the name is
 * right for both. Buttons added under @root later need a call of their
 * own. */
void rill_accessible_name_buttons (GtkWidget *root);

/* For windows whose contents GTK or libadwaita make (the about window, the
 * shortcuts window), which GTK 4.8 leaves with unnamed controls: every
 * button with no words gets its tooltip, or failing that what its icon
 * means; a search entry "Search"; a text view the name @text_name. Call it
 * once the window is built and again when it is shown, since some of its
 * pages are made late. */
void rill_accessible_name_foreign (GtkWidget  *root,
                                   const char *text_name);

G_END_DECLS
