/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libudev: the symbol table and the ELF dlopen note (dl-udev.h, dl.h) */
#include "dl/dl-udev.h"
#include "dl/dl.h"

IMG_ELF_NOTE_DLOPEN("udev", "--monitor, and udev database entries of an unknown version", "suggested", UDEV_SONAME);

__typeof__(&udev_device_get_action) sym_udev_device_get_action;
__typeof__(&udev_device_get_devnode) sym_udev_device_get_devnode;
__typeof__(&udev_device_get_devnum) sym_udev_device_get_devnum;
__typeof__(&udev_device_get_properties_list_entry) sym_udev_device_get_properties_list_entry;
__typeof__(&udev_device_get_property_value) sym_udev_device_get_property_value;
__typeof__(&udev_device_get_seqnum) sym_udev_device_get_seqnum;
__typeof__(&udev_device_get_sysattr_value) sym_udev_device_get_sysattr_value;
__typeof__(&udev_device_get_sysname) sym_udev_device_get_sysname;
__typeof__(&udev_device_get_subsystem) sym_udev_device_get_subsystem;
__typeof__(&udev_device_new_from_devnum) sym_udev_device_new_from_devnum;
__typeof__(&udev_device_unref) sym_udev_device_unref;
__typeof__(&udev_list_entry_get_name) sym_udev_list_entry_get_name;
__typeof__(&udev_list_entry_get_next) sym_udev_list_entry_get_next;
__typeof__(&udev_list_entry_get_value) sym_udev_list_entry_get_value;
__typeof__(&udev_monitor_enable_receiving) sym_udev_monitor_enable_receiving;
__typeof__(&udev_monitor_filter_add_match_subsystem_devtype) sym_udev_monitor_filter_add_match_subsystem_devtype;
__typeof__(&udev_monitor_get_fd) sym_udev_monitor_get_fd;
__typeof__(&udev_monitor_new_from_netlink) sym_udev_monitor_new_from_netlink;
__typeof__(&udev_monitor_receive_device) sym_udev_monitor_receive_device;
__typeof__(&udev_monitor_unref) sym_udev_monitor_unref;
__typeof__(&udev_new) sym_udev_new;
__typeof__(&udev_unref) sym_udev_unref;

static const struct img_dl_sym udev_syms[] = {
	IMG_DL_SYM(udev_device_get_action),
	IMG_DL_SYM(udev_device_get_devnode),
	IMG_DL_SYM(udev_device_get_devnum),
	IMG_DL_SYM(udev_device_get_properties_list_entry),
	IMG_DL_SYM(udev_device_get_property_value),
	IMG_DL_SYM(udev_device_get_seqnum),
	IMG_DL_SYM(udev_device_get_sysattr_value),
	IMG_DL_SYM(udev_device_get_sysname),
	IMG_DL_SYM(udev_device_get_subsystem),
	IMG_DL_SYM(udev_device_new_from_devnum),
	IMG_DL_SYM(udev_device_unref),
	IMG_DL_SYM(udev_list_entry_get_name),
	IMG_DL_SYM(udev_list_entry_get_next),
	IMG_DL_SYM(udev_list_entry_get_value),
	IMG_DL_SYM(udev_monitor_enable_receiving),
	IMG_DL_SYM(udev_monitor_filter_add_match_subsystem_devtype),
	IMG_DL_SYM(udev_monitor_get_fd),
	IMG_DL_SYM(udev_monitor_new_from_netlink),
	IMG_DL_SYM(udev_monitor_receive_device),
	IMG_DL_SYM(udev_monitor_unref),
	IMG_DL_SYM(udev_new),
	IMG_DL_SYM(udev_unref),
};

static struct img_dl_lib udev_lib = IMG_DL_LIB(UDEV_SONAME, UDEV_PACKAGE, udev_syms);

int dlopen_udev(const char *feature)
{
	return img_dl_load(&udev_lib, feature);
}
