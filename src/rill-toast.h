/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-toast.h: toasts that show text as typed. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* An AdwToast titled @text. libadwaita 1.2 reads a toast's title as Pango
 * markup, so a conversation called "Why is a<b && c wrong?" made an empty
 * toast and a warning; every toast Rill makes shows plain text (titles,
 * error messages, addresses), so it is escaped here, in one place. */
AdwToast *rill_toast_new        (const char *text);
/* The same, with a printf-style format whose arguments are plain text. */
AdwToast *rill_toast_new_format (const char *format,
                                 ...) G_GNUC_PRINTF (1, 2);

G_END_DECLS
