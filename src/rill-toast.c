/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-toast.c: see rill-toast.h. */

#include "rill-toast.h"

AdwToast *
rill_toast_new (const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text ? text : "", -1);

  return adw_toast_new (escaped);
}

AdwToast *
rill_toast_new_format (const char *format,
                       ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  return rill_toast_new (text);
}
