/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libudev (UDEV_SONAME), loaded with dlopen when a mode first needs
 * it (dl.h): the symbols enum/enum-udev.c and monitor.c call, each typed from
 * <libudev.h> so that a prototype change is a compile error.
 */
#pragma once

#include <libudev.h>

extern __typeof__(&udev_device_get_action) sym_udev_device_get_action;
extern __typeof__(&udev_device_get_devnode) sym_udev_device_get_devnode;
extern __typeof__(&udev_device_get_devnum) sym_udev_device_get_devnum;
extern __typeof__(&udev_device_get_properties_list_entry) sym_udev_device_get_properties_list_entry;
extern __typeof__(&udev_device_get_property_value) sym_udev_device_get_property_value;
extern __typeof__(&udev_device_get_seqnum) sym_udev_device_get_seqnum;
extern __typeof__(&udev_device_get_sysattr_value) sym_udev_device_get_sysattr_value;
extern __typeof__(&udev_device_get_sysname) sym_udev_device_get_sysname;
extern __typeof__(&udev_device_get_subsystem) sym_udev_device_get_subsystem;
extern __typeof__(&udev_device_new_from_devnum) sym_udev_device_new_from_devnum;
extern __typeof__(&udev_device_unref) sym_udev_device_unref;
extern __typeof__(&udev_list_entry_get_name) sym_udev_list_entry_get_name;
extern __typeof__(&udev_list_entry_get_next) sym_udev_list_entry_get_next;
extern __typeof__(&udev_list_entry_get_value) sym_udev_list_entry_get_value;
extern __typeof__(&udev_monitor_enable_receiving) sym_udev_monitor_enable_receiving;
extern __typeof__(&udev_monitor_filter_add_match_subsystem_devtype) sym_udev_monitor_filter_add_match_subsystem_devtype;
extern __typeof__(&udev_monitor_get_fd) sym_udev_monitor_get_fd;
extern __typeof__(&udev_monitor_new_from_netlink) sym_udev_monitor_new_from_netlink;
extern __typeof__(&udev_monitor_receive_device) sym_udev_monitor_receive_device;
extern __typeof__(&udev_monitor_unref) sym_udev_monitor_unref;
extern __typeof__(&udev_new) sym_udev_new;
extern __typeof__(&udev_unref) sym_udev_unref;

/* udev_list_entry_foreach of libudev.h, through the loaded symbols */
#define sym_udev_list_entry_foreach(entry, first) \
	for (entry = (first); entry; entry = sym_udev_list_entry_get_next(entry))

/*
 * Load the library and all the symbols above, once per process (img_dl_load):
 * 0, or a negative errno after printing, the first time only, that FEATURE
 * needs it (nothing is printed when feature is NULL or inside libimgscan).
 */
int dlopen_udev(const char *feature);
